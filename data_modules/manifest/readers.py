"""Readers of each manifest format. Each returns a raw table in the generic layout:
`id`, `path` (absolute), optional `split`/`system`/`dataset`/`start`/`end`, aspect columns under their
manifest names (numbers or per-rater lists), and any other column as metadata."""

import json
import re
from pathlib import Path

import pandas as pd

from data_modules.errors import UserError
from data_modules.manifest.columns import DATASET, ID, PATH, SEGMENT_ALIASES, SPLIT, SYSTEM
from data_modules.manifest.paths import PLACEHOLDER, dataset_from_path, resolve_path

FORMATS = ("generic", "audiomos2025_track2", "aes", "musiceval")
_TRACK2_EVAL_ID = re.compile(r"^audiomos2025-track2-(?P<system>[^-/]+)-(?P<utt>[^/]+)$")
_MUSICEVAL_NAME = re.compile(r"(?P<system>S\d+)_(?P<prompt>P\d+)")
_MUSICEVAL_SPLITS = {"train": "train", "dev": "val", "val": "val", "test": "test", "eval": "test"}


class FormatError(UserError):
    """The manifest's format is unknown, or does not match the configured one."""


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise FormatError(f"{path}: line {line_no} is not valid JSON ({err.msg})") from None
    return pd.DataFrame.from_records(records)


def _read_table(path: Path) -> pd.DataFrame:
    """CSV or JSONL rows with `start_time`/`end_time` read as `start`/`end`. Ids, paths and names stay the
    strings written (`"001"` and `"1e3"` are not numbers); everything else is parsed and checked later."""
    if path.suffix.lower() in (".jsonl", ".json"):
        table = _read_jsonl(path)
    else:
        table = pd.read_csv(path, dtype={c: str for c in (ID, PATH, SPLIT, SYSTEM, DATASET)})
    for alias, column in SEGMENT_ALIASES.items():
        if alias in table.columns:
            if column in table.columns:
                raise FormatError(f"{path}: has both `{column}` and `{alias}`; keep one")
            table = table.rename(columns={alias: column})
    return table


def read_generic(manifest: Path, root: str | None) -> pd.DataFrame:
    """The generic CSV/JSONL: `id`, `path` (absolute or relative to the manifest folder), aspects, extras."""
    table = _read_table(manifest)
    missing = [c for c in (ID, PATH) if c not in table.columns]
    if missing:
        raise FormatError(
            f"{manifest}: generic manifest lacks column(s) {missing}; has {list(table.columns)}"
        )
    table[ID] = table[ID].astype(str)
    table[PATH] = [resolve_path(p, manifest.parent, root) for p in table[PATH].astype(str)]
    return table


def read_audio_list(listing: Path, root: str | None = None) -> pd.DataFrame:
    """Files to score (CSV/JSONL, the generic layout without targets): `path`, optional `id` (default: the
    path as written), `start`/`end` or `start_time`/`end_time` (seconds), any other column. Row order kept."""
    table = _read_table(listing)
    if PATH not in table.columns:
        raise FormatError(f"{listing}: needs a `{PATH}` column; has {list(table.columns)}")
    if ID not in table.columns:
        table.insert(0, ID, table[PATH].astype(str))
    table[ID] = table[ID].astype(str)
    table[PATH] = [resolve_path(p, listing.parent, root) for p in table[PATH].astype(str)]
    return table


def _published(table: pd.DataFrame, manifest: Path, root: str | None) -> pd.DataFrame:
    """Shared by the AES and track 2 formats: `data_path` -> path, dataset and (track 2 eval) system."""
    raw = table.pop("data_path").astype(str)
    table.insert(1, "path", [_published_path(p, manifest.parent, root) for p in raw])
    datasets = raw.map(dataset_from_path)
    systems = raw.map(lambda p: m.group("system") if (m := _TRACK2_EVAL_ID.match(p)) else None)
    if datasets.notna().any():
        table["dataset"] = datasets
    if systems.notna().any():
        table["system"] = systems
    return table


def _published_path(data_path: str, base: Path, root: str | None) -> str:
    # the track 2 evaluation set names clips by id only: audio is `<root or manifest folder>/<id>.wav`
    if _TRACK2_EVAL_ID.match(data_path):
        data_path = data_path + ".wav"
    return resolve_path(data_path, base, root)


def read_aes(manifest: Path, root: str | None) -> pd.DataFrame:
    """AES-Natural / track 2 annotations JSONL: `data_path` + one list of rater scores per axis.
    id = the path without the `/your_path/` prefix (or the track 2 evaluation id itself)."""
    table = _read_jsonl(manifest)
    if "data_path" not in table.columns:
        raise FormatError(f"{manifest}: AES JSONL lacks `data_path`; has {list(table.columns)}")
    ids = (
        table["data_path"]
        .astype(str)
        .map(lambda p: p[len(PLACEHOLDER) + 1 :] if p.startswith(PLACEHOLDER) else p)
    )
    table.insert(0, "id", ids)
    return _published(table, manifest, root)


def read_track2_csv(manifest: Path, root: str | None) -> pd.DataFrame:
    """AudioMOS 2025 track 2 CSV: `sample_id,data_path,Production_Quality,...` (axis means)."""
    table = pd.read_csv(manifest, dtype={"sample_id": str, "data_path": str})
    missing = [c for c in ("sample_id", "data_path") if c not in table.columns]
    if missing:
        raise FormatError(f"{manifest}: track 2 CSV lacks column(s) {missing}; has {list(table.columns)}")
    table = table.rename(columns={"sample_id": "id"})
    return _published(table, manifest, root)


def musiceval_lists(manifest: Path) -> list[Path]:
    """The `*_mos_list.txt` files of a MusicEval folder (or the one list given)."""
    if manifest.is_file():
        return [manifest]
    lists = sorted((manifest / "sets").glob("*_mos_list.txt"))
    if not lists:
        raise FormatError(f"{manifest}: no sets/*_mos_list.txt found (MusicEval layout)")
    return lists


def read_musiceval(manifest: Path, root: str | None) -> pd.DataFrame:
    """MusicEval (AudioMOS 2025 track 1): `sets/<split>_mos_list.txt` lines `wavname,overall,textual`.
    Audio is `<root or the MusicEval folder>/wav/<wavname>`; system `S002` and prompt `P044` come from the
    name (`audiomos2025-track1-S002_P044.wav`); the split from the list name (dev -> val)."""
    lists = musiceval_lists(manifest)
    folder = manifest if manifest.is_dir() else manifest.parent.parent
    audio_dir = Path(root).expanduser() / "wav" if root is not None else folder / "wav"
    parts = []
    for lst in lists:
        part = pd.read_csv(lst, header=None, names=["wavname", "overall", "textual"], dtype=str, comment=None)
        if len(part) and part.iloc[0]["wavname"].strip().lower() == "wavname":
            part = part.iloc[1:]  # a header line
        part["split"] = _MUSICEVAL_SPLITS.get(lst.name.removesuffix("_mos_list.txt").lower(), lst.stem)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    names = table["wavname"].str.strip()
    table.insert(0, "id", names.str.replace(r"\.wav$", "", regex=True))
    table.insert(1, "path", [str(audio_dir / n) for n in names])
    parsed = names.str.extract(_MUSICEVAL_NAME)
    table["system"] = parsed["system"]
    table["prompt"] = parsed["prompt"]
    table["dataset"] = "musiceval"
    return table.drop(columns="wavname")


READERS = {
    "generic": read_generic,
    "audiomos2025_track2": read_track2_csv,
    "aes": read_aes,
    "musiceval": read_musiceval,
}


def detect_format(manifest: Path) -> str:
    """The format from the file's layout (header / first record / folder); raises when none fits."""
    if manifest.is_dir() or manifest.name.endswith("_mos_list.txt"):
        musiceval_lists(manifest)
        return "musiceval"
    suffix = manifest.suffix.lower()
    if suffix in (".jsonl", ".json"):
        with open(manifest, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "{}")
        try:
            keys = set(json.loads(first))
        except (json.JSONDecodeError, TypeError):
            raise FormatError(f"{manifest}: first line is not a JSON object") from None
    elif suffix in (".csv", ".tsv", ".txt"):
        keys = set(pd.read_csv(manifest, nrows=0).columns)
    else:
        raise FormatError(f"{manifest}: cannot detect the format of a {suffix!r} file; set data.format")
    if {"id", "path"} <= keys:
        return "generic"
    if {"sample_id", "data_path"} <= keys:
        return "audiomos2025_track2"
    if "data_path" in keys and suffix in (".jsonl", ".json"):
        return "aes"
    raise FormatError(
        f"{manifest}: unknown manifest layout (columns {sorted(keys)}); expected `id,path,...` (generic), "
        "`sample_id,data_path,...` (audiomos2025_track2), JSONL with `data_path` (aes), or a MusicEval folder"
    )
