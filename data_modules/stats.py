"""Small statistics shared by the corpus report and the domain explanations."""

import numpy as np
import pandas as pd


def eta_squared(values, groups) -> float:
    """Share of the variance of `values` (N,) explained by the means of `groups` (N,): one-way ANOVA
    SS_between / SS_total. Rows with a non-finite value are left out; 0 when nothing varies."""
    values, groups = np.asarray(values, dtype=np.float64), np.asarray(groups)
    keep = np.isfinite(values)
    frame = pd.DataFrame({"v": values[keep], "g": groups[keep]})
    total = ((frame["v"] - frame["v"].mean()) ** 2).sum() if len(frame) else 0.0
    if total <= 0:
        return 0.0
    means = frame.groupby("g")["v"].transform("mean")
    return float(((means - frame["v"].mean()) ** 2).sum() / total)
