"""Why a clip cannot be used: the one table of skip reasons (message, effect) and the error that carries one.

Read by the decoder and the cache (which raise AudioError), by the data module (which drops and counts the
clip) and by `aqa validate` (which reports it). A new reason is one line here.
"""

from dataclasses import dataclass

SKIP = (
    "skipped (counted)"  # the clip is left out of training and evaluation; counts against max_skip_fraction
)
WARN = "warning"  # the clip is kept; only the aspects it lacks ignore it


@dataclass(frozen=True)
class Reason:
    message: str  # what is wrong, for reports and prediction rows
    effect: str  # SKIP or WARN: what training does about it


# HuBERT/MERT's conv front end needs 400 samples for its first frame; shorter clips crash the conv stack
MIN_SAMPLES = 400

SKIP_REASONS = {
    "missing_file": Reason("audio file not found", SKIP),
    "unreadable": Reason("audio file cannot be decoded: corrupt or unsupported format", SKIP),
    "empty": Reason("audio has zero samples, or the start/end segment is empty", SKIP),
    "too_short": Reason(
        f"audio is shorter than the {MIN_SAMPLES} samples of the encoder's first frame", SKIP
    ),
    "non_finite": Reason("audio has NaN/inf samples", SKIP),
    "silent": Reason("audio is all silent", SKIP),
    "no_mos": Reason("no MOS for any configured aspect", SKIP),
    "missing_mos": Reason("no MOS for some aspects: their loss ignores the row", WARN),
}


class AudioError(ValueError):
    """A file that cannot be used; `reason` is a key of SKIP_REASONS."""

    def __init__(self, reason: str, path: str, detail: str = ""):
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}: add it to SKIP_REASONS ({__name__})")
        self.reason, self.path, self.detail = reason, path, detail
        super().__init__(f"{reason}: {path}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        """The reason, its message and the detail, without the path (e.g. for a prediction row)."""
        return f"{self.reason}: {SKIP_REASONS[self.reason].message}" + (
            f" ({self.detail})" if self.detail else ""
        )
