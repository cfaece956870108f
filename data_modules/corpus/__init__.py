"""The embedded default: a generated MOS corpus with planted shortcuts (no downloads)."""
