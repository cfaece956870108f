"""The published AudioMOS 2025 track 2 and AES-Natural lists (CC-BY 4.0, see README.md here)."""

from pathlib import Path

PUBLISHED_DIR = Path(__file__).resolve().parent
TRACK2_DIR = PUBLISHED_DIR / "audiomos2025_track2"
AES_NATURAL_DIR = PUBLISHED_DIR / "aes_natural"
