"""Ground truth: the documented formulas from a clip's factors to its true PQ, PC, CE, CU (1-10 scale).

Fingerprints (dataset or family) never enter these formulas: they are shortcuts only through the
factors that their sources or families tend to have.
"""

import numpy as np


def degradation_penalties(snr_db, drive_db, cutoff_hz, bits) -> dict[str, np.ndarray]:
    """PQ points lost to each degradation (arrays over clips)."""
    snr_db, drive_db, cutoff_hz, bits = (
        np.asarray(v, dtype=float) for v in (snr_db, drive_db, cutoff_hz, bits)
    )
    return {
        "noise": 3.0 * np.clip((45.0 - snr_db) / 35.0, 0.0, 1.0),  # 45 dB SNR and above: clean
        "clipping": 2.0 * np.clip(drive_db / 18.0, 0.0, 1.0),  # drive above the clipping level
        "bandlimit": 2.0 * np.clip(np.log2(8000.0 / cutoff_hz) / np.log2(8000.0 / 1500.0), 0.0, 1.0),
        "quantisation": 1.5 * np.clip((13.0 - bits) / 7.0, 0.0, 1.0),
    }


def true_scores(factors) -> dict[str, np.ndarray]:
    """True aspect scores from a table (or dict) of factors; see docs/corpus.md for the meaning."""
    penalties = degradation_penalties(
        factors["snr_db"], factors["drive_db"], factors["cutoff_hz"], factors["bits"]
    )
    pq = np.clip(9.3 - sum(penalties.values()), 1.0, 10.0)
    layers = np.asarray(factors["layers"], dtype=float)
    complexity = (layers - 1.0) / 4.0  # 1..5 layers -> 0..1
    density = np.asarray(factors["density"], dtype=float)
    expressive = np.asarray(factors["expressiveness"], dtype=float)
    pc = 1.3 + 1.8 * (layers - 1.0) + 1.2 * density
    ce = 1.8 + 4.8 * expressive + 0.3 * (pq - 5.5) + 0.6 * complexity
    cu = 1.2 + 0.6 * (pq - 1.0) + 1.8 * (1.0 - complexity) + 0.8 * expressive
    return {k: np.clip(v, 1.0, 10.0) for k, v in {"PQ": pq, "PC": pc, "CE": ce, "CU": cu}.items()}
