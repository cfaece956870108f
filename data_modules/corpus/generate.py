"""Write the corpus: audio, `manifest.jsonl` (generic format), `truth.csv` (hidden), `corpus.json` (marker).

`ensure_corpus(cfg)` is what the data stage calls: it generates once per settings into
`cfg.dir/<hash of the settings>/` and returns the manifest path. Output is bit-identical for the same
settings, whatever the number of worker processes (every clip has its own child seed).
"""

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from data_modules.atomic import atomic_path
from data_modules.corpus import known, recipe
from data_modules.corpus.config import RECIPES, CorpusConfig
from data_modules.corpus.degrade import LEVEL, degrade, normalise
from data_modules.corpus.fingerprints import dataset_fingerprint, family_fingerprint
from data_modules.corpus.plan import plan_corpus
from data_modules.corpus.synth import render
from data_modules.locks import file_lock

MANIFEST = "manifest.jsonl"
ORACLE_MANIFEST = "manifest_oracle.jsonl"  # known recipe: every clip rated in the neutral test
ANSWERS = "answers.json"  # known recipe: aspect -> right answer class (known.ANSWERS)
TRUTH = "truth.csv"
MARKER = "corpus.json"  # written last: its presence means the folder is complete
TRUTH_COLUMNS = [
    "id", "family", "level", "template", "seconds", "layers", "density", "expressiveness", "severity",
    "snr_db", "drive_db", "cutoff_hz", "bits", "PQ_true", "PC_true", "CE_true", "CU_true",
]  # fmt: skip


def settings(cfg: CorpusConfig) -> dict:
    """Everything the output depends on (not `enabled`, `dir`, `oracle` or the worker count). The default
    recipe's settings name no recipe (its cache folders stay those of recipe version 3)."""
    out = {
        "version": recipe.VERSION,
        "seed": int(cfg.seed),
        "size": int(cfg.size),
        "sample_rate": int(cfg.sample_rate),
        "seconds": float(cfg.seconds),
    }
    if cfg.recipe != "default":
        out.update(recipe=str(cfg.recipe), recipe_version=known.VERSION)
    return out


def settings_hash(cfg: CorpusConfig) -> str:
    return hashlib.sha256(json.dumps(settings(cfg), sort_keys=True).encode()).hexdigest()[:12]


def is_complete(folder: Path, cfg: CorpusConfig | None = None) -> bool:
    """The folder holds a finished corpus (of these settings, when `cfg` is given)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return False
    return cfg is None or json.loads(marker.read_text())["settings"] == settings(cfg)


def ensure_corpus(cfg: CorpusConfig, workers: int | None = None) -> Path:
    """Manifest path of the corpus for `cfg`, generated into `cfg.dir/corpus-<hash>/` if not there yet.

    Safe when several processes call it at once (DDP ranks, sweep trials): a file lock lets one of them
    generate while the others wait, and the folder appears by an atomic rename only when complete.
    """
    root = Path(cfg.dir).expanduser()
    folder = root / f"corpus-{settings_hash(cfg)}"
    name = _manifest_name(cfg)
    if is_complete(folder, cfg):
        return folder / name
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f".{folder.name}.lock"):
        if not is_complete(folder, cfg):
            generate_corpus(folder, cfg, workers=workers)
    return folder / name


def _manifest_name(cfg: CorpusConfig) -> str:
    """manifest.jsonl, or the oracle manifest (`oracle: true`, known recipe only)."""
    if cfg.recipe not in RECIPES:
        raise ValueError(f"data.corpus.recipe must be one of {'|'.join(RECIPES)}, got {cfg.recipe!r}")
    if cfg.oracle and cfg.recipe != "known":
        raise ValueError("data.corpus.oracle=true needs data.corpus.recipe=known (the oracle manifest)")
    return ORACLE_MANIFEST if cfg.oracle else MANIFEST


def generate_corpus(out_dir, cfg: CorpusConfig, workers: int | None = None) -> Path:
    """Generate the corpus of `cfg` into `out_dir` (absent or empty) and return its manifest path.

    Files are written to a temporary sibling folder that is renamed to `out_dir` at the end.
    `workers`: processes for audio synthesis (default: all CPU cores); the output does not depend on it.
    """
    out_dir = Path(out_dir).expanduser().absolute()
    name = _manifest_name(cfg)
    if int(cfg.sample_rate) < 8000 or float(cfg.seconds) <= 0:
        raise ValueError(
            f"corpus needs sample_rate >= 8000 and seconds > 0, got {cfg.sample_rate}, {cfg.seconds}"
        )
    if is_complete(out_dir, cfg):
        return out_dir / name
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(
            f"{out_dir} exists and does not hold a corpus of these settings; remove it first"
        )
    try:
        with atomic_path(
            out_dir, directory=True
        ) as tmp:  # replaces an empty folder; fails on a non-empty one
            _write(tmp, cfg, workers)
    except OSError:
        if not is_complete(out_dir, cfg):  # someone else finished the same corpus first: fine
            raise
    return out_dir / name


def plan(cfg: CorpusConfig):
    """The clip table of `cfg`'s recipe (plan.plan_corpus or known.plan_known)."""
    make = known.plan_known if cfg.recipe == "known" else plan_corpus
    return make(int(cfg.seed), int(cfg.size), float(cfg.seconds))


def _write(folder: Path, cfg: CorpusConfig, workers: int | None) -> None:
    clips = plan(cfg)
    lists = [c for c in clips.columns if c.endswith("_ratings")]
    (folder / "audio").mkdir()
    jobs = [
        (folder / "audio" / f"{row.id}.wav", int(cfg.seed), i, row._asdict(), int(cfg.sample_rate))
        for i, row in enumerate(clips.drop(columns=lists).itertuples(index=False))
    ]
    workers = min(os.cpu_count() or 1, len(jobs)) if workers is None else workers
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write_clip, jobs, chunksize=8))
    else:
        for job in jobs:
            _write_clip(job)

    if cfg.recipe == "known":
        _write_manifest(folder / MANIFEST, clips, "_ratings", truth=True)
        _write_manifest(folder / ORACLE_MANIFEST, clips, "_oracle_ratings", truth=True)
        (folder / ANSWERS).write_text(json.dumps(known.ANSWERS, indent=2) + "\n")
    else:
        _write_manifest(folder / MANIFEST, clips, "_ratings", truth=False)
    clips[TRUTH_COLUMNS].to_csv(folder / TRUTH, index=False, float_format="%.6f")
    marker = {
        "settings": settings(cfg),
        "clips": len(clips),
        "splits": {k: int(v) for k, v in clips["split"].value_counts().sort_index().items()},
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _write_manifest(path: Path, clips, ratings: str, truth: bool) -> None:
    """One JSONL line per clip; per aspect the ratings of column `<A><ratings>`; `truth`: also `<A>_true`
    (the known recipe keeps the offset-free truth in its manifest, for the oracle and the design gates)."""
    with open(path, "w", encoding="utf-8") as f:
        for row in clips.to_dict("records"):
            record = {
                "id": row["id"],
                "path": f"audio/{row['id']}.wav",
                "split": row["split"],
                "system": row["system"],
                "dataset": row["dataset"],
                "modality": row["modality"],
            }
            record.update({a: [int(r) for r in row[f"{a}{ratings}"]] for a in recipe.ASPECTS})
            if truth:
                record.update({f"{a}_true": round(float(row[f"{a}_true"]), 6) for a in recipe.ASPECTS})
            f.write(json.dumps(record) + "\n")


def render_clip(row: dict, seed: int, index: int, sr: int) -> np.ndarray:
    """Audio of one planned clip: content, degradations, family artefact, dataset fingerprint."""
    rng = np.random.default_rng([seed, 2, index])  # child seed per clip: independent of worker count
    n = int(round(row["seconds"] * sr))
    x = render(row["modality"], rng, n, sr, int(row["layers"]), row["expressiveness"], row["density"])
    x = degrade(x, sr, rng, row["snr_db"], row["drive_db"], row["cutoff_hz"], int(row["bits"]))
    x = family_fingerprint(row["family"], x, sr)
    x = normalise(dataset_fingerprint(row["dataset"], x, sr), LEVEL)
    peak = np.abs(x).max()
    return x * (0.99 / peak) if peak > 0.99 else x


def _write_clip(job) -> None:
    path, seed, index, row, sr = job
    sf.write(path, render_clip(row, seed, index, sr), sr, subtype="PCM_16")
