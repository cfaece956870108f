"""ViSQOL v3 MOS-LQO (audio mode, 48 kHz) of a coded clip against its reference; one API per process."""

import numpy as np

VISQOL_RATE = 48000
_API = None


def visqol(reference: np.ndarray, degraded: np.ndarray) -> float:
    """(N,), (N,) float at 48 kHz -> MOS-LQO (about 1..4.73; a clip scored against itself gets the ceiling)."""
    global _API
    if _API is None:
        from visqol import VisqolApi  # noqa: PLC0415 (numba compile on first use; imported by workers only)

        _API = VisqolApi()
        _API.create(mode="audio")
    result = _API.measure_from_arrays(
        np.asarray(reference, np.float64), np.asarray(degraded, np.float64), VISQOL_RATE
    )
    return float(result.moslqo)
