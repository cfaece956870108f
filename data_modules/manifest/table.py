"""Manifest -> table (stage 1 of docs/ARCHITECTURE.md)."""

from pathlib import Path

import numpy as np
import pandas as pd

from data_modules.errors import MissingFileError
from data_modules.manifest.aspects import find_aspect_column, is_rating_list, mean_rating
from data_modules.manifest.columns import CORE
from data_modules.manifest.errors import ManifestError, Problem
from data_modules.manifest.readers import READERS, FormatError, detect_format
from data_modules.manifest.splits import assign_splits, hold_out_sources


def manifest_source(cfg_data) -> tuple[Path, str]:
    """(manifest path, format): the generated corpus when `corpus.enabled`, else `data.manifest`."""
    if cfg_data.corpus.enabled:
        from data_modules.corpus.generate import ensure_corpus  # owned by the corpus stage

        return Path(ensure_corpus(cfg_data.corpus)), "generic"
    manifest = Path(str(cfg_data.manifest)).expanduser()
    if not manifest.exists():
        raise MissingFileError(f"manifest not found: {manifest} (data.manifest)")
    fmt = str(cfg_data.format)
    if fmt == "auto":
        return manifest, detect_format(manifest)
    if fmt not in READERS:
        raise FormatError(f"data.format={fmt!r} is not one of auto|{'|'.join(READERS)}")
    return manifest, fmt


def read_manifest(cfg_data) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse and normalise the manifest without stopping at bad rows: (table, problems found).

    Problems: missing_aspect (fatal), non_numeric_mos, out_of_scale, bad_segment, duplicate_id.
    Rows with problems stay in the table (bad values as NaN) so `validate` can count everything.
    """
    manifest, fmt = manifest_source(cfg_data)
    root = None if cfg_data.root is None else str(cfg_data.root)
    raw = READERS[fmt](manifest, root)
    if cfg_data.split_manifests:
        raw = _with_split_manifests(raw, cfg_data, root)
    problems: list[Problem] = []
    table = raw.reset_index(drop=True)
    table["id"] = table["id"].astype(str)
    table["path"] = table["path"].astype(str)
    if "dataset" not in table.columns:
        table["dataset"] = "unknown"
    table["dataset"] = table["dataset"].fillna("unknown").astype(str)
    if "system" not in table.columns:
        # contract: no system column -> the dataset if the manifest has one, else the id
        table["system"] = table["dataset"] if "dataset" in raw.columns else table["id"]
    fallback = table["dataset"] if "dataset" in raw.columns else table["id"]
    table["system"] = table["system"].where(table["system"].notna(), fallback).astype(str)
    for col in ("start", "end"):
        table[col] = _numbers(table, col, "bad_segment", problems) if col in table else np.nan
    for col, aspect in _aspect_columns(table, list(cfg_data.aspects), manifest, problems):
        _set_aspect(table, col, aspect, tuple(cfg_data.scale), problems)
    _check_segments(table, problems)
    for i in np.flatnonzero(table["id"].duplicated(keep=False).to_numpy()):
        problems.append(_problem(table, i, "duplicate_id", f"id {table['id'][i]!r} appears more than once"))
    split = assign_splits(table, cfg_data.split)
    moved = [cfg_data.train_split, cfg_data.val_split]
    table["split"] = hold_out_sources(table, split, list(cfg_data.heldout_sources), moved)
    return table[CORE + [c for c in table.columns if c not in CORE]], problems


def _with_split_manifests(raw: pd.DataFrame, cfg_data, root: str | None) -> pd.DataFrame:
    """data.manifest's rows (split column, else the train split) + every data.split_manifests file's rows."""
    parts = [raw if "split" in raw.columns else raw.assign(split=cfg_data.train_split)]
    for split, path in cfg_data.split_manifests.items():
        path = Path(str(path)).expanduser()
        if not path.exists():
            raise MissingFileError(f"manifest not found: {path} (data.split_manifests.{split})")
        parts.append(READERS[detect_format(path)](path, root).assign(split=split))
    return pd.concat(parts, ignore_index=True)


def load_table(cfg_data) -> pd.DataFrame:
    """The clip table of docs/ARCHITECTURE.md stage 1; raises ManifestError listing any bad rows."""
    table, problems = read_manifest(cfg_data)
    if problems:
        source = "generated corpus" if cfg_data.corpus.enabled else str(cfg_data.manifest)
        raise ManifestError(problems, source)
    return table


def _problem(table: pd.DataFrame, i: int, kind: str, what: str) -> Problem:
    id_, path = str(table["id"][i]), str(table["path"][i])
    return Problem(kind, f"row {i} (id {id_}, file {path}): {what}", row=int(i), id=id_, path=path)


def _aspect_columns(table, aspects, manifest, problems):
    found = []
    for aspect in aspects:
        col = find_aspect_column(table.columns, aspect)
        if col is None:
            problems.append(
                Problem(
                    "missing_aspect", f"aspect {aspect!r} from data.aspects is not a column of {manifest}"
                )
            )
        else:
            found.append((col, aspect))
    return found


def _numbers(table: pd.DataFrame, col: str, kind: str, problems: list[Problem]) -> pd.Series:
    """Column as float; values that are present but not numbers become NaN and a problem."""
    values = table[col]
    numbers = pd.to_numeric(values.map(lambda v: np.nan if is_rating_list(v) else v), errors="coerce")
    numbers = numbers.astype(float)
    blank = values.map(lambda v: v is None or (isinstance(v, str) and not v.strip()) or _is_nan(v))
    for i in np.flatnonzero((numbers.isna() & ~blank).to_numpy()):
        problems.append(_problem(table, i, kind, f"`{col}` is not a number: {values[i]!r}"))
    return numbers


def _set_aspect(table, col, aspect, scale, problems):
    if table[col].map(is_rating_list).any():
        ratings = table[col].map(lambda v: list(v) if is_rating_list(v) else v)
        table[f"{aspect}_ratings"] = ratings
        table[col] = ratings.map(mean_rating)
    values = _numbers(table, col, "non_numeric_mos", problems)
    if col != aspect:
        table.drop(columns=col, inplace=True)
    table[aspect] = values
    low, high = scale
    for i in np.flatnonzero(((values < low) | (values > high)).to_numpy()):
        problems.append(
            _problem(
                table, i, "out_of_scale", f"{aspect}={values[i]:g} outside data.scale [{low:g}, {high:g}]"
            )
        )


def _check_segments(table, problems):
    start, end = table["start"], table["end"]
    bad = (start < 0) | (end <= start.fillna(0)) | np.isinf(start) | np.isinf(end)
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(_problem(table, i, "bad_segment", f"segment start={start[i]} end={end[i]} is empty"))


def _is_nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)
