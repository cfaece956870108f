"""How findable the fingerprints are from audio: a supervised linear probe and unsupervised k-means,
both on simple spectral features (a stand-in for an encoder's embeddings)."""

import numpy as np
import pandas as pd
import soundfile as sf
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

COLUMNS = ("dataset", "family", "modality")


def _log_spectrum(x: np.ndarray, nfft: int) -> np.ndarray:
    """Mean power spectrum of non-overlapping Hann-windowed frames, in log."""
    frames = x[: len(x) // nfft * nfft].reshape(-1, nfft) * np.hanning(nfft)
    return np.log(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-12)


def spectral_features(x: np.ndarray, sr: int) -> np.ndarray:
    """Long-term log spectrum and the log spectrum of the envelope's modulations at 20-200 Hz."""
    block = sr // 1000  # envelope at about 1 kHz: mean of |x| over blocks
    env = np.abs(x[: len(x) // block * block]).reshape(-1, block).mean(axis=1)
    freqs = np.fft.rfftfreq(256, block / sr)
    return np.concatenate(
        [_log_spectrum(x, 512), _log_spectrum(env - env.mean(), 256)[(freqs > 20) & (freqs < 200)]]
    )


def corpus_features(clips: pd.DataFrame, corpus_dir) -> np.ndarray:
    rows = []
    for path in clips["path"]:
        x, sr = sf.read(f"{corpus_dir}/{path}")
        rows.append(spectral_features(x, sr))
    return np.stack(rows)


def probe_table(clips: pd.DataFrame, features: np.ndarray, ks=(3, 6, 10)) -> pd.DataFrame:
    """Per grouping (rows): 4-fold (stratified) accuracy of a logistic probe, its chance level (majority share), and
    the adjusted mutual information between the grouping and k-means clusters (PCA to 16 dims)."""
    X = StandardScaler().fit_transform(features)
    Z = PCA(min(16, X.shape[1], X.shape[0]), random_state=0).fit_transform(X)
    clusters = {k: KMeans(k, n_init=10, random_state=0).fit_predict(Z) for k in ks if k < len(Z)}
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))
    rows = {}
    for column in COLUMNS:
        y = clips[column].to_numpy()
        n_folds = min(4, int(pd.Series(y).value_counts().min()))  # tiny corpora: fewer folds, or none
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=0) if n_folds >= 2 else None
        rows[column] = {
            "probe acc": cross_val_score(probe, features, y, cv=folds).mean() if folds else float("nan"),
            "chance": pd.Series(y).value_counts(normalize=True).max(),
            **{f"kmeans{k} AMI": adjusted_mutual_info_score(y, c) for k, c in clusters.items()},
        }
    return pd.DataFrame(rows).T


def format_probe(clips: pd.DataFrame, corpus_dir) -> str:
    table = probe_table(clips, corpus_features(clips, corpus_dir))
    return "\n".join(
        [
            "fingerprints from audio (features: log spectrum + envelope modulation spectrum; all splits)",
            table.to_string(float_format=lambda v: f"{v:.3f}"),
        ]
    )
