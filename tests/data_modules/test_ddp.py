"""Two real gloo ranks: equal batch counts per rank, every item covered (slow: process start-up)."""

import json
import socket
import subprocess
import sys

import pytest

from data_modules.manifest import load_table

_RANK = """
import json, os, sys
import torch.distributed as dist
from aqa.config.load import load_config
from data_modules.datamodule import AQADataModule
from data_modules.manifest import load_table
rank = int(sys.argv[1])
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{sys.argv[2]}", rank=rank, world_size=2)
cfg = load_config(None, sys.argv[3:]).data
dm = AQADataModule(cfg, load_table(cfg), 16000, list(cfg.aspects), seed=7)
dm.setup("fit")
train = dm.train_dataloader()
train.batch_sampler.set_epoch(1)
out = {"train": [b["ids"] for b in train], "val": [b["ids"] for b in dm.val_dataloader()], "len": len(train)}
print(json.dumps(out))
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_two_ranks(mixed_manifest, data_cfg, tmp_path):
    overrides = [
        f"data.manifest={mixed_manifest}",
        "data.aspects=[PQ,CE]",
        f"data.cache_dir={tmp_path}/cache",
        "data.num_workers=0",
        "data.batch_size=3",
        "data.eval_batch_size=2",
        "data.eval_window_seconds=1.0",
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RANK, str(r), str(port), *overrides], stdout=subprocess.PIPE, text=True
        )
        for r in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    table = load_table(data_cfg(mixed_manifest))
    assert len(outs[0]["train"]) == len(outs[1]["train"]) == outs[0]["len"]
    assert len(outs[0]["val"]) == len(outs[1]["val"])
    train_ids = [i for o in outs for b in o["train"] for i in b]
    # 12 train clips in batches of 3 = 4 batches: 2 per rank, no repeats needed, each clip exactly once
    assert sorted(train_ids) == sorted(table.loc[table["split"] == "train", "id"])
    assert set(i for o in outs for b in o["val"] for i in b) == set(table.loc[table["split"] == "val", "id"])
