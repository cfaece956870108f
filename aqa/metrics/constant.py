"""Whether values are all equal, as correlations need: a constant input ranks nothing."""

import numpy as np


def is_constant(values: np.ndarray) -> bool:
    """(N,) -> all equal up to rounding (a mean of identical values can differ from them in the last bit)."""
    return len(values) == 0 or np.ptp(values) <= 1e-9 * max(1.0, float(np.abs(values).max()))
