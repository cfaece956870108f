"""Synthetic tables and planted-cluster features for the definer and features tests; reading back what an
offline W&B run wrote (its `run-<id>.wandb` file) for the W&B tests."""

import json
import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aqa.config.load import load_config


def planted_blobs(n: int, k: int, dim: int = 16, spread: float = 8.0, seed: int = 0):
    """(n, dim) float32 features around k well-separated centres, and the (n,) true cluster of each row."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * spread
    truth = np.arange(n) % k
    rng.shuffle(truth)
    return (centres[truth] + rng.normal(size=(n, dim))).astype(np.float32), truth


def synthetic_table(n: int = 240, seed: int = 0, truth=None) -> pd.DataFrame:
    """Rows with split (train 2/3, val, test), dataset, two metadata columns and aspects PQ, PC.
    PQ depends on the dataset (a shortcut), PC is noise."""
    rng = np.random.default_rng(seed)
    datasets = np.array(["tts", "tta", "ttm"])
    ds = truth % 3 if truth is not None else rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            "id": [f"clip{i:04d}" for i in range(n)],
            "path": [f"/audio/clip{i:04d}.wav" for i in range(n)],
            "split": np.array(["train", "train", "train", "train", "val", "test"])[np.arange(n) % 6],
            "start": np.nan,
            "end": np.nan,
            "dataset": datasets[ds],
            "system": [f"sys{i % 7}" for i in range(n)],
            "language": rng.choice(["en", "zh"], n),
            "modality": rng.choice(["speech", "music"], n),
            "PQ": 3.0 * ds + rng.normal(size=n),
            "PC": rng.normal(size=n),
        }
    )


def write_planted_corpus(folder, n=24):
    """n clips, two kinds (white noise / a 220 Hz tone), each kind its own `dataset`; returns the manifest path."""
    rng = np.random.default_rng(0)
    rows = []
    rate = 24000  # the tiny encoder's rate
    t = np.arange(int(0.6 * rate)) / rate
    for k in range(n):
        kind = k % 2
        wav = rng.normal(scale=0.3, size=len(t)) if kind == 0 else 0.5 * np.sin(2 * np.pi * 220 * t + k)
        path = folder / "audio" / f"c{k}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, wav.astype(np.float32), rate)
        split = "val" if k % 6 == 5 else "train"
        rows.append(
            {
                "id": f"c{k}",
                "path": f"audio/c{k}.wav",
                "PQ": 2 + 5 * kind,
                "PC": 5.0 + rng.normal(),
                "split": split,
                "system": f"s{k % 4}",
                "dataset": ["noise", "tone"][kind],
            }
        )
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


@pytest.fixture
def make_cfg(tiny_overrides):
    """make_cfg(*overrides) -> the typed config with test-local caches and aspects PQ, PC."""

    def make(*overrides):
        return load_config(
            None, [*tiny_overrides, "data.manifest=unused.csv", "data.aspects=[PQ,PC]", *overrides]
        )

    return make


@pytest.fixture
def blobs():
    """The `planted_blobs` function."""
    return planted_blobs


@pytest.fixture
def make_table():
    """The `synthetic_table` function."""
    return synthetic_table


@pytest.fixture
def planted_corpus():
    """The `write_planted_corpus` function (folder, n) -> manifest path."""
    return write_planted_corpus


BLOCK, HEADER = 32768, 7  # W&B's LevelDB-log format: 32 KiB blocks; chunk = crc (4), length (2), type (1)
FULL, LAST = 1, 4


def _raw_records(path: Path):
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a W&B transaction log"
    pos, chunks = 7, []  # file header: ":W&B", magic (2), version (1)
    while pos + HEADER <= len(data):
        room = BLOCK - pos % BLOCK
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER]) if room >= HEADER else (0, 0, 0)
        if kind == 0:  # zero padding to the end of the block
            pos += room
            continue
        if pos + HEADER + length > len(data):  # still being written
            return
        chunks.append(data[pos + HEADER : pos + HEADER + length])
        pos += HEADER + length
        if kind in (FULL, LAST):
            yield b"".join(chunks)
            chunks = []


def read_offline_run(folder: Path) -> dict:
    """{id, config (top-level keys), history (keys), summary, artifacts [{name, type, aliases, files}]}."""
    from wandb.proto import wandb_internal_pb2

    (log,) = Path(folder).glob("run-*.wandb")
    run = {"id": None, "config": {}, "history": {}, "summary": {}, "artifacts": []}
    kinds = []
    for raw in _raw_records(log):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        kinds.append(kind)
        if kind == "run":
            run["id"] = record.run.run_id
            run["config"] |= {i.key: json.loads(i.value_json) for i in record.run.config.update}
        elif kind == "config":
            run["config"] |= {i.key: json.loads(i.value_json) for i in record.config.update}
        elif kind == "history":
            for item in record.history.item:
                run["history"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                run["summary"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "artifact":
            a = record.artifact
            files = {e.path: {"digest": e.digest, "local_path": e.local_path} for e in a.manifest.contents}
            run["artifacts"].append(
                {"name": a.name, "type": a.type, "aliases": list(a.aliases), "files": files}
            )
    run["kinds"] = kinds
    return run


@pytest.fixture
def offline_runs():
    """offline_runs(folder) -> every offline run under folder (a `wandb/` folder or above), oldest first."""

    def read(folder, timeout: float = 60.0) -> list[dict]:
        # wandb's service writes the log behind the process: wait for each run's final `exit` record
        deadline = time.monotonic() + timeout
        while True:
            runs = [read_offline_run(p) for p in sorted(Path(folder).rglob("offline-run-*")) if p.is_dir()]
            if all(r["kinds"][-1:] == ["exit"] for r in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(0.5)

    return read
