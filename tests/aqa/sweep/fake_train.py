"""Stand-in for `aqa train` in controller tests: `key=value` args in, `$AQA_RUN_DIR/metrics.json` out.

`score=X` sets the metric, `crash=1` exits with an error, `sleep=S` waits S seconds first (unless the
environment has FAKE_TRAIN_NO_SLEEP=1). With a definer (`domain.definer.name=`, or the PQ entry of a
`domain.selection=` file) it also writes `val/PQ/within_srcc`: none 0.3, kmeans 0.4 (+0.003 at seed 1: a
spread over seeds), other definers 0.2, + 0.01 x seed + `boost`.
`probe=X` writes X as the run's linear probe on its encoder features (`linear/encoder/val/PQ/within_srcc`).
"""

import json
import os
import sys
import time
from pathlib import Path

params = dict(arg.split("=", 1) for arg in sys.argv[1:])
if os.environ.get("FAKE_TRAIN_NO_SLEEP") != "1":
    time.sleep(float(params.get("sleep", 0)))
if params.get("crash") == "1":
    raise SystemExit("fake_train: crash requested")
run_dir = Path(os.environ["AQA_RUN_DIR"])
run_dir.mkdir(parents=True, exist_ok=True)
(run_dir / "env.json").write_text(json.dumps({"WANDB_MODE": os.environ.get("WANDB_MODE"), "argv": sys.argv}))
score = float(params.get("score", 0))
metrics = {"val/mean/sys_srcc": score, "best/val/PQ/sys_srcc": score, "run/steps": 1}
definer = params.get("domain.definer.name")
if "domain.selection" in params:
    import yaml

    definer = yaml.safe_load(Path(params["domain.selection"]).read_text())["PQ"]["definer"]["name"]
if definer is not None:
    within = {"none": 0.3, "kmeans": 0.4}.get(definer, 0.2) + 0.01 * int(params.get("seed", 0))
    within += 0.003 * (definer == "kmeans" and params.get("seed") == "1")
    within += float(params.get("boost", 0))
    metrics |= {"val/PQ/within_srcc": within, "test_ood/PQ/utt_srcc": within / 2}
if "probe" in params:
    metrics["linear/encoder/val/PQ/within_srcc"] = float(params["probe"])
(run_dir / "metrics.json").write_text(json.dumps(metrics))
print("fake_train done", params)
