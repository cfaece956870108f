"""End to end on CPU: `aqa train` writes the run folder, `aqa eval` reproduces it, resume continues."""

import json
import os

import pandas as pd
import pytest
import torch

from aqa.cli import main as aqa
from aqa.config import load_config
from aqa.training.evaluate import evaluate
from aqa.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dat_run(train_overrides, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("dat-run")
    overrides = [*train_overrides, "domain.definer=dataset", f"run.dir={run_dir}"]
    assert aqa(["train", _experiment(tmp_path_factory), *overrides]) == 0
    return run_dir


def _experiment(tmp_path_factory):
    path = tmp_path_factory.mktemp("exp") / "exp.yaml"
    path.write_text("# test experiment: everything comes from the overrides\nseed: 0\n")
    return str(path)


def test_dat_run_writes_the_run_folder(dat_run):
    for name in ("config.yaml", "metrics.json", "checkpoints/last.ckpt", "adapters/adapter_config.json"):
        assert (dat_run / name).is_file(), name
    assert list((dat_run / "domains").iterdir()), "domain labels are saved with the run"
    ckpts = [p.name for p in (dat_run / "checkpoints").glob("*.ckpt")]
    assert all("/" not in n for n in ckpts) and len(ckpts) >= 2
    metrics = json.loads((dat_run / "metrics.json").read_text())
    for key in ("val/PQ/sys_srcc", "val/mean/sys_srcc", "test/CU/utt_lcc", "best/val/PQ/sys_srcc"):
        assert key in metrics, key
    assert "probe/PQ/dataset_acc" in metrics and "probe/PQ/acc" in metrics
    assert metrics["val/PQ/within_sources"] == 3 and "val/mean/within_srcc" in metrics
    # the source-lookup reference, scored on the same clips: constant within every source
    assert metrics["shortcut/val/PQ/within_srcc"] == 0.0 and "shortcut/test/PQ/sys_srcc" in metrics
    assert metrics["shortcut/val/PQ/within_sources"] == metrics["val/PQ/within_sources"]
    ckpt = next(p.name for p in (dat_run / "checkpoints").glob("epoch*.ckpt"))
    assert "val_mean_within_srcc" in ckpt  # the default monitor
    logged = pd.read_csv(dat_run / "csv" / "metrics.csv")
    assert {
        "train/PQ/domain_loss",
        "train/PQ/domain_acc",
        "train/PQ/domain_chance",
        "train/grl_lambda",
    } <= set(logged.columns)
    assert logged["train/PQ/domain_chance"].dropna().iloc[0] == pytest.approx(1 / 3)  # 3 source datasets
    lam = logged["train/grl_lambda"].dropna().to_numpy()
    assert lam[0] == 0.0 and (lam[1:] >= lam[:-1]).all() and lam[-1] > 0.5


def test_reference_rows_on_every_evaluated_split(dat_run, train_overrides):
    """The train mean and the ridge probes on encoder and acoustic features, beside the source lookup, on
    every split the model was scored on, under the model's own keys."""
    metrics = json.loads((dat_run / "metrics.json").read_text())
    stages = {k.split("/")[0] for k in metrics if k.endswith("/PQ/utt_srcc") and k.count("/") == 2}
    assert stages == {"val", "test"}  # the small manifest's evaluated splits
    for stage in stages:
        for prefix in ("constant", "linear/encoder", "linear/acoustic", "shortcut"):
            for metric in ("utt_srcc", "utt_mse", "sys_srcc", "within_srcc"):
                assert f"{prefix}/{stage}/PQ/{metric}" in metrics, (prefix, stage, metric)
        assert metrics[f"linear/acoustic/{stage}/PQ/within_sources"] == metrics[f"{stage}/PQ/within_sources"]
        assert metrics[f"constant/{stage}/PQ/utt_srcc"] is None  # a constant ranks nothing (NaN -> null)
    assert metrics["linear/acoustic/val/PQ/utt_mse"] is not None


def test_eval_reproduces_the_run_metrics(dat_run):
    stored = json.loads((dat_run / "metrics.json").read_text())
    metrics, aspects = evaluate(stored["run/best_checkpoint"])
    assert aspects == ["PQ", "PC", "CE", "CU"]
    keys = [k for k in metrics if k.startswith(("val/", "test/"))]
    assert keys
    for key in keys:
        if stored.get(key) is None:  # NaN (e.g. a constant split) is stored as null
            assert metrics[key] != metrics[key]
        else:
            assert metrics[key] == pytest.approx(stored[key], abs=1e-9), key


def test_eval_overrides_reach_the_rebuilt_model(dat_run, tmp_path):
    """e.g. the encoder lives elsewhere on another machine: the override, not the stored path, is loaded."""
    from aqa.training.checkpoint import load_checkpoint

    stored = json.loads((dat_run / "metrics.json").read_text())
    module, cfg, _ = load_checkpoint(
        stored["run/best_checkpoint"], [f"model.encoder.cache_dir={tmp_path}/enc"]
    )
    assert module.model_cfg.encoder.cache_dir == f"{tmp_path}/enc" == cfg.model.encoder.cache_dir
    assert list((tmp_path / "enc").glob("tiny-mert-*/model.safetensors"))  # written where the override says


def test_checkpoint_keeps_normalisation_and_labels(dat_run):
    ckpt = torch.load(dat_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert {"aspect_model.target_mean", "aspect_model.target_std"} <= set(ckpt["state_dict"])
    table = ckpt["aqa_domain_table"]
    assert len(table["ids"]) == 52 and set(table["labels"]["PQ"]) == {0, 1, 2}
    from aqa.definers.labels import DomainLabels

    restored = DomainLabels.from_state_dict(ckpt["aqa_domains"])  # the fitted definers travel with the model
    assert restored.num_domains["PQ"] == 3 and list(restored.ids) == table["ids"]


def test_erm_run_has_no_adversary(train_overrides, tmp_path):
    cfg = load_config(
        None, [*train_overrides, "domain.definer=none", f"run.dir={tmp_path}", "trainer.max_epochs=1"]
    )
    metrics = train(cfg)
    assert "val/PQ/sys_srcc" in metrics and "probe/PQ/acc" not in metrics
    assert "AQA_RUN_DIR" not in os.environ  # exported for DDP children only, not left for the next run
    assert "probe/PQ/dataset_acc" in metrics  # ERM and DAT compare on the dataset probe
    logged = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    assert not any("domain_loss" in c for c in logged.columns)


def test_resume_continues_where_it_stopped(train_overrides, tmp_path):
    base = [*train_overrides, "domain.definer=random", "domain.definer.k=2", f"run.dir={tmp_path}"]
    first = train(load_config(None, [*base, "trainer.max_epochs=1"]))
    steps_per_epoch = first["run/global_step"]
    assert steps_per_epoch > 0
    resumed = train(load_config(None, [*base, "trainer.max_epochs=2", "run.resume=last"]))
    assert resumed["run/global_step"] == 2 * steps_per_epoch
    first_log = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    (resumed_log,) = (tmp_path / "csv").glob("resumed-*/metrics.csv")
    trained = pd.read_csv(resumed_log).dropna(subset=["train/loss"])
    assert set(first_log.dropna(subset=["train/loss"])["epoch"].astype(int)) == {0}
    assert set(trained["epoch"].astype(int)) == {1}  # the resumed run trained epoch 1 only
    assert trained["step"].min() >= steps_per_epoch


def test_nan_monitor_is_refused_before_any_model_is_built(train_overrides, tmp_path, monkeypatch):
    """No val source is big enough to rank (within_srcc NaN every epoch whatever the model): ConfigError
    naming the cause and the fixes, before the domain labels or the model are built."""
    import aqa.definers.labels
    from aqa.config.load import ConfigError

    def never(*args, **kwargs):
        raise AssertionError("domain labels fitted before the monitor check")

    monkeypatch.setattr(aqa.definers.labels, "fit_domain_labels", never)
    cfg = load_config(None, [*train_overrides, f"run.dir={tmp_path}", "metrics.min_source_clips=100"])
    with pytest.raises(ConfigError) as err:
        train(cfg)
    message = str(err.value)
    assert "val/mean/within_srcc" in message and "min_source_clips=100" in message
    assert "checkpoint.monitor=" in message and "more validation clips per source" in message


def test_run_saves_per_clip_predictions_that_reproduce_its_metrics(dat_run):
    """predictions/<stage>.csv: the clips each stage's metrics were computed from (selection resamples them)."""
    import yaml

    from aqa.metrics.predictions import read_predictions
    from aqa.metrics.within import within_source_srcc

    stored = json.loads((dat_run / "metrics.json").read_text())
    predictions = read_predictions(dat_run / "predictions")
    assert {"val", "test"} <= set(predictions)
    val = predictions["val"]
    assert {"id", "dataset", "system", "target_PQ", "pred_PQ"} <= set(val.columns) and val["id"].is_unique
    min_clips = yaml.safe_load((dat_run / "config.yaml").read_text())["metrics"]["min_source_clips"]
    srcc, used = within_source_srcc(
        val["pred_PQ"].to_numpy(), val["target_PQ"].to_numpy(), val["dataset"].to_numpy(), min_clips
    )
    assert used == stored["val/PQ/within_sources"] and srcc == pytest.approx(
        stored["val/PQ/within_srcc"], abs=1e-6
    )
