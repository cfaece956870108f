"""`aqa surrogate IN --out DIR`: clean clips (a folder of audio or a manifest with `path`) -> 48 kHz references,
coded versions (Opus/MP3/AAC at DeePAQ's bitrates, decoded and aligned), ViSQOL labels, DIR/manifest.csv.

Each clip's audio and its label file (`labels/<id>.json`, written last) mark it finished: a rerun skips
finished clips (resumable). Jobs are independent (one per coded clip), so any number of workers gives the
same files (deterministic)."""

import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import soxr
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from data_modules.surrogate.codecs import BITRATES, CODECS, RATE, code
from data_modules.surrogate.label import visqol

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3"}
CLEAN = "clean"  # codec value of the reference rows (bitrate `inf`: ranks above every bitrate)
COLUMNS = ["id", "path", "reference", "codec", "bitrate", "visqol", "split", "system", "dataset"]
EXTRA = ["coding_rate", "priming", "lag", "kbps"]  # how each clip was coded (see codecs.py)


def clean_sources(source: str | Path) -> pd.DataFrame:
    """-> (ref_id, src_path, split|None, dataset) from a folder of audio or a CSV/JSONL manifest with `path`."""
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        table = pd.DataFrame({"path": [str(p) for p in paths]})
        table["id"] = [str(p.relative_to(source).with_suffix("")) for p in paths]
    elif source.suffix.lower() in (".csv", ".jsonl"):
        table = pd.read_csv(source) if source.suffix.lower() == ".csv" else pd.read_json(source, lines=True)
        if "path" not in table:
            raise ValueError(f"{source}: needs a `path` column")
        table["path"] = [str(p if Path(p).is_absolute() else source.parent / p) for p in table["path"]]
        table["id"] = table["id"].astype(str) if "id" in table else [Path(p).stem for p in table["path"]]
    else:
        raise ValueError(f"input must be a folder of audio or a .csv/.jsonl manifest, got {source}")
    if table.empty:
        raise FileNotFoundError(f"no clean clips in {source}")
    table["ref_id"] = table["id"].str.replace(r"[^A-Za-z0-9_.-]+", "_", regex=True)
    if table["ref_id"].duplicated().any():
        raise ValueError(
            f"{source}: duplicate clip ids {table['ref_id'][table['ref_id'].duplicated()].tolist()[:5]}"
        )
    table["dataset"] = table["dataset"].astype(str) if "dataset" in table else "surrogate"
    table["split"] = table["split"].astype(str) if "split" in table else None
    return table[["ref_id", "path", "split", "dataset"]]


def assign_splits(refs: pd.DataFrame, ratios: dict[str, float], seed: int) -> pd.DataFrame:
    """Split by reference (all codings of a reference share its split); keeps a manifest's own splits."""
    refs = refs.copy()
    if refs["split"].notna().all():
        return refs
    order = np.random.default_rng(seed).permutation(len(refs))
    bounds = np.cumsum([ratios[k] for k in ratios]) / sum(ratios.values()) * len(refs)
    names = np.array(list(ratios))[np.searchsorted(bounds, np.arange(len(refs)) + 0.5)]
    refs["split"] = names[np.argsort(order)]
    return refs


def plan(refs: pd.DataFrame, codecs, bitrates, out: Path) -> list[dict]:
    """One job per clip: the clean reference itself, then each (codec, bitrate)."""
    jobs = []
    for ref in refs.itertuples(index=False):
        reference = out / "references" / f"{ref.ref_id}.wav"
        base = {"reference": str(reference), "source": ref.path, "split": ref.split, "dataset": ref.dataset}
        jobs.append(base | {"id": ref.ref_id, "codec": CLEAN, "bitrate": math.inf, "path": str(reference)})
        for c in codecs:
            for b in bitrates:
                clip_id = f"{ref.ref_id}__{c}_{b}"
                path = out / "coded" / c / str(b) / f"{ref.ref_id}.wav"
                jobs.append(base | {"id": clip_id, "codec": c, "bitrate": float(b), "path": str(path)})
    return jobs


def load_reference(source: str, reference: Path) -> np.ndarray:
    """The clean clip as mono float at 48 kHz; written once (16-bit is not used: float keeps it exact)."""
    if reference.is_file():
        return sf.read(reference, dtype="float64")[0]
    audio, rate = sf.read(source, dtype="float64", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE, quality="VHQ")
    reference.parent.mkdir(parents=True, exist_ok=True)
    tmp = reference.with_name(f".{reference.stem}.{os.getpid()}.wav")
    sf.write(tmp, audio, RATE, subtype="FLOAT")
    os.replace(tmp, reference)  # atomic: workers coding the same reference never read a partial file
    return sf.read(reference, dtype="float64")[0]


def label_path(out: Path, clip_id: str) -> Path:
    return out / "labels" / f"{clip_id}.json"


def run_job(job: dict, out: Path) -> dict:
    """Codes, aligns, scores and writes one clip; returns its manifest row (labels file written last)."""
    reference = load_reference(job["source"], Path(job["reference"]))
    if job["codec"] == CLEAN:
        audio, extra = reference, {"coding_rate": RATE, "priming": 0, "lag": 0, "kbps": math.nan}
    else:
        coded = code(reference, job["codec"], int(job["bitrate"]))
        audio = coded.audio.astype(np.float64)
        extra = {
            "coding_rate": coded.coding_rate,
            "priming": coded.priming,
            "lag": coded.lag,
            "kbps": coded.kbps,
        }
        path = Path(job["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, coded.audio, RATE, subtype="FLOAT")
    row = {k: job[k] for k in ("id", "path", "reference", "codec", "bitrate", "split", "dataset")}
    row |= extra | {"visqol": round(visqol(reference, audio), 6)}
    labels = label_path(out, job["id"])
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text(
        json.dumps(
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        )
    )
    return row


def _run(args) -> dict:
    job, out = args
    return run_job(job, out)


def _finished(job: dict, out: Path) -> dict | None:
    labels = label_path(out, job["id"])
    if not (labels.is_file() and Path(job["path"]).is_file()):
        return None
    row = json.loads(labels.read_text())
    return {
        k: (math.inf if k == "bitrate" and v is None else (math.nan if v is None else v))
        for k, v in row.items()
    }


def build(
    source,
    out,
    codecs=CODECS,
    bitrates=BITRATES,
    workers: int = 1,
    ratios: dict[str, float] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Path, dict]:
    """Writes every clip not yet finished and DIR/manifest.csv; -> (manifest path, speed facts)."""
    out = Path(out)
    unknown = sorted(set(codecs) - set(CODECS))
    if unknown:
        raise ValueError(f"unknown codec(s) {unknown}: choose from {', '.join(CODECS)}")
    refs = assign_splits(clean_sources(source), ratios or {"train": 0.8, "val": 0.1, "test": 0.1}, seed)
    jobs = plan(refs, codecs, bitrates, out)
    rows = {j["id"]: r for j in jobs if (r := _finished(j, out)) is not None}
    todo = [j for j in jobs if j["id"] not in rows]
    # references first (serially): coded jobs of one reference then only read it
    for ref in refs.itertuples(index=False):
        load_reference(ref.path, out / "references" / f"{ref.ref_id}.wav")
    started = time.time()
    columns = [TextColumn("surrogate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task("clips", total=len(todo))
        if workers > 1 and todo:
            # spawn, not fork: a forked child of a process that already runs torch/OpenMP threads can die
            # (seen as BrokenProcessPool inside the test suite); a fresh interpreter per worker is safe
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                for row in pool.map(_run, [(j, out) for j in todo]):
                    rows[row["id"]] = row
                    bar.advance(task)
        else:
            for job in todo:
                rows[job["id"]] = run_job(job, out)
                bar.advance(task)
    seconds = time.time() - started
    ordered = [rows[j["id"]] for j in jobs]
    manifest = write_manifest(ordered, out / "manifest.csv")
    lags = pd.DataFrame(ordered).groupby("codec")["lag"].agg(lambda v: int(np.abs(v).max()))
    speed = {
        "clips": len(jobs),
        "coded_now": len(todo),
        "skipped_finished": len(jobs) - len(todo),
        "seconds": round(seconds, 2),
        "workers": workers,
        "max_abs_lag_samples": {str(k): int(v) for k, v in lags.items()},
        "clips_per_second_per_core": round(len(todo) / seconds / workers, 3)
        if todo and seconds > 0
        else None,
    }
    return manifest, speed


def write_manifest(rows: list[dict], path: Path) -> Path:
    """The generic manifest: id, path, reference, codec, bitrate (kbps; `inf` for clean references, which rank
    above every bitrate; empty would mean "no bitrate label"), visqol, split, system
    (codec_bitrate: the listening-test condition), dataset, and how each clip was coded."""
    table = pd.DataFrame(rows)
    table["system"] = [
        CLEAN if c == CLEAN else f"{c}_{int(b)}" for c, b in zip(table["codec"], table["bitrate"])
    ]
    table[COLUMNS + EXTRA].to_csv(path, index=False)
    return path


def _ratios(text: str) -> dict[str, float]:
    parts = [p.split("=") for p in text.split(",") if p]
    return {k: float(v) for k, v in parts}
