"""Reading back what an offline W&B run wrote (its `run-<id>.wandb` file), for the W&B tests."""

import json
import struct
from pathlib import Path

import pytest

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
    for raw in _raw_records(log):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
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
    return run


@pytest.fixture
def offline_runs():
    """offline_runs(folder) -> every offline run under folder (a `wandb/` folder or above), oldest first."""

    def read(folder) -> list[dict]:
        return [read_offline_run(p) for p in sorted(Path(folder).rglob("offline-run-*")) if p.is_dir()]

    return read
