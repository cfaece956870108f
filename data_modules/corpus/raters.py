"""Simulated listeners: each rater has a bias, a scale and a noise level; ratings are integers 1-10."""

import numpy as np


def draw_raters(rng: np.random.Generator, n_raters: int, aspects) -> dict[str, dict[str, np.ndarray]]:
    """Per aspect: `bias`, `slope`, `noise` arrays of shape (n_raters,).

    A rater's bias is partly personal (shared by all aspects) and partly per aspect; biases are centred so
    the panel as a whole is unbiased.
    """
    personal = rng.normal(0.0, 0.5, n_raters)
    raters = {}
    for aspect in aspects:
        bias = personal + rng.normal(0.0, 0.2, n_raters)
        raters[aspect] = {
            "bias": bias - bias.mean(),
            "slope": rng.uniform(0.85, 1.15, n_raters),  # how much of the scale a rater uses
            "noise": rng.uniform(0.5, 1.1, n_raters),
        }
    return raters


def rate(rng: np.random.Generator, true: np.ndarray, rater: dict[str, np.ndarray]) -> np.ndarray:
    """Integer ratings (n_clips, n_raters) of true scores (n_clips,) by one aspect's panel."""
    true = np.asarray(true, dtype=float)[:, None]
    noise = rng.normal(0.0, 1.0, (true.shape[0], rater["bias"].shape[0])) * rater["noise"]
    raw = 5.5 + rater["slope"] * (true - 5.5) + rater["bias"] + noise
    return np.clip(np.rint(raw), 1, 10).astype(int)
