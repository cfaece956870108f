"""The inputs of `aqa predict` and DeePAQ scoring: a CSV/JSONL list of files or a folder of audio -> a table
(id, path, optional start/end, ...). Shared by aqa/training/predict.py and aqa/deepaq/score.py."""

from pathlib import Path

import pandas as pd

from data_modules.manifest.columns import ID, PATH
from data_modules.manifest.readers import read_audio_list

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3"}


def input_table(source: str | Path) -> pd.DataFrame:
    """The inputs (id, path, optional start/end, ...) from a CSV/JSONL list (ids kept as written) or a
    folder of audio (id = path relative to the folder, sorted)."""
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {source}")
        return pd.DataFrame({ID: [str(p.relative_to(source)) for p in paths], PATH: [str(p) for p in paths]})
    if source.suffix.lower() not in (".jsonl", ".csv"):
        raise ValueError(f"input must be a .jsonl/.csv list or a folder of audio, got {source}")
    table = read_audio_list(source)
    duplicated = table[ID][table[ID].duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{source}: duplicate ids {duplicated.tolist()[:5]} (rows without an `id` use their path: "
            "add an `id` column to score several segments of one file)"
        )
    return table
