"""Unlabeled audio for pretraining: find clips (folder or manifest), decode them, log-mel frames and k-means codes
aligned with the encoder's frames (window 400 samples, hop 320: the HuBERT conv front end's receptive field)."""

import csv
import json
from pathlib import Path

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from transformers.audio_utils import mel_filter_bank

from data_modules.audio.decode import decode
from data_modules.audio.errors import AudioError
from data_modules.errors import UserError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif"}
RECEPTIVE_FIELD = 400  # samples seen by one frame of the HuBERT/MERT conv front end
HOP = 320  # samples between frames (75 Hz at MERT's 24 kHz)
N_FFT = 512  # the 400-sample window zero-padded
MAX_KMEANS_FRAMES = 50_000


def find_audio(source: str | Path) -> list[str]:
    """Audio paths from a folder (recursive, sorted) or a manifest (.jsonl/.csv with a `path` column,
    relative paths resolved against the manifest's folder)."""
    source = Path(source)
    if source.is_dir():
        return sorted(str(p) for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not source.is_file():
        raise UserError(f"{source}: no such folder or manifest")
    if source.suffix == ".jsonl":
        rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif source.suffix == ".csv":
        with open(source, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    else:
        raise UserError(
            f"{source}: a manifest must be .jsonl or .csv (with a `path` column), or pass a folder"
        )
    if not rows or "path" not in rows[0]:
        raise UserError(f"{source}: the manifest has no rows with a `path` column")
    return [str(p if Path(p).is_absolute() else source.parent / p) for p in (r["path"] for r in rows)]


def load_clips(paths: list[str], sample_rate: int) -> tuple[list[np.ndarray], list[str]]:
    """(clips, skipped): each readable clip as (T,) float32 mono; unreadable files are listed, not fatal.
    Raises UserError when no clip is readable or a clip is shorter than the receptive field."""
    clips, skipped = [], []
    for path in paths:
        try:
            wav = decode(path, sample_rate)
        except AudioError as err:
            skipped.append(f"{path}: {err}")
            continue
        if len(wav) < RECEPTIVE_FIELD:
            raise UserError(
                f"{path}: {len(wav)} samples at {sample_rate} Hz, shorter than the encoder's receptive field "
                f"({RECEPTIVE_FIELD} samples); remove it or pad it"
            )
        clips.append(wav)
    if not clips:
        detail = f" ({len(skipped)} unreadable, e.g. {skipped[0]})" if skipped else ""
        raise UserError(f"no readable audio among {len(paths)} files{detail}")
    return clips, skipped


def frames(num_samples: int) -> int:
    """Encoder frames of a clip of `num_samples` samples (>= RECEPTIVE_FIELD)."""
    return 1 + (num_samples - RECEPTIVE_FIELD) // HOP


def log_mel(wav: np.ndarray, sample_rate: int, n_mels: int) -> np.ndarray:
    """(F, n_mels) float32 log-mel, frame i = samples [HOP*i, HOP*i + RECEPTIVE_FIELD) like encoder frame i."""
    count = frames(len(wav))
    index = np.arange(RECEPTIVE_FIELD)[None, :] + HOP * np.arange(count)[:, None]
    windows = wav[index] * np.hanning(RECEPTIVE_FIELD)[None, :].astype(np.float32)
    power = np.abs(np.fft.rfft(windows, n=N_FFT, axis=1)) ** 2  # (F, N_FFT/2+1)
    bank = mel_filter_bank(
        num_frequency_bins=N_FFT // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=20.0,
        max_frequency=sample_rate / 2,
        sampling_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )
    return np.log(power @ bank + 1e-6).astype(np.float32)


def fit_clusters(
    mels: list[np.ndarray], clusters: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means over standardised log-mel frames -> (centres (K, M), mean (M,), std (M,)).
    Raises UserError when there are fewer frames than clusters."""
    stacked = np.concatenate(mels)
    if len(stacked) < clusters:
        raise UserError(
            f"{clusters} clusters but only {len(stacked)} frames in all the audio: lower --clusters"
        )
    mean, std = stacked.mean(0), stacked.std(0) + 1e-5
    rng = np.random.default_rng(seed)
    fit = (
        stacked if len(stacked) <= MAX_KMEANS_FRAMES else stacked[rng.choice(len(stacked), MAX_KMEANS_FRAMES)]
    )
    km = MiniBatchKMeans(n_clusters=clusters, random_state=seed, n_init=3, batch_size=4096)
    km.fit((fit - mean) / std)
    return km.cluster_centers_.astype(np.float32), mean.astype(np.float32), std.astype(np.float32)


def assign(mel: np.ndarray, centres: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(F,) int64 code of each frame of `mel` (F, M): the nearest centre."""
    x = (mel - mean) / std
    dist = (x**2).sum(1)[:, None] - 2 * x @ centres.T + (centres**2).sum(1)[None, :]
    return dist.argmin(1).astype(np.int64)
