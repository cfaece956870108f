"""Two DDP ranks (real processes, gloo) fit domain labels on one run dir: one fit, identical labels."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from aqa.config.load import load_config
from aqa.model.encoder import resolve_encoder_path

WORKER = textwrap.dedent(
    """
    import json, logging, sys
    import torch.distributed as dist
    from aqa.config.load import load_config
    from aqa.definers.labels import fit_domain_labels
    from aqa.features import FeatureSettings
    from data_modules.manifest import load_table

    run_dir, overrides = sys.argv[1], sys.argv[2:]
    dist.init_process_group("gloo")
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("aqa.definers.labels").addHandler(handler)
    logging.getLogger("aqa.definers.labels").setLevel(logging.INFO)
    cfg = load_config(None, overrides)
    table = load_table(cfg.data)
    dist.barrier()  # both ranks reach the fit at the same time
    labels = fit_domain_labels(
        cfg.domain, table, run_dir, 24000, aspects=list(cfg.data.aspects), train_split=cfg.data.train_split,
        seed=cfg.seed, feature_settings=FeatureSettings.from_config(cfg),
    )
    digests = [None, None]
    dist.all_gather_object(digests, labels.digest())
    fitted = any(m.startswith("domain labels: fitted") for m in messages)
    print("RESULT " + json.dumps({"rank": dist.get_rank(), "digests": digests, "fitted": fitted}))
    dist.destroy_process_group()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_fit_once_and_share_identical_labels(tmp_path, tiny_overrides, planted_corpus):
    manifest = planted_corpus(tmp_path, n=36)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    overrides = [
        *tiny_overrides,
        f"data.manifest={manifest}",
        "data.aspects=[PQ,PC]",
        "data.eval_window_seconds=0.25",
        "domain.definer=kmeans",
        "domain.definer.k=2",
        "domain.definers.PC=random",
        "domain.definers.PC.k=3",
    ]
    # The tiny checkpoint is written up front, as a real launch has MERT on disk: transformers 5 writes no
    # weights from save_pretrained on a rank other than 0 once a process group exists (encoder stage issue).
    resolve_encoder_path(load_config(None, overrides).model.encoder)
    port = free_port()
    procs = []
    for rank in range(2):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        env.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
        cmd = [sys.executable, str(script), str(tmp_path / "run"), *overrides]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.split("RESULT ", 1)[1]))
    digests = {d for r in results for d in r["digests"]}
    assert len(digests) == 1  # all_gather: both ranks hold the same labels
    assert sorted(r["fitted"] for r in results) == [False, True]  # one rank fitted, the other reused
    assert (tmp_path / "run" / "domains" / "labels.csv").is_file()
