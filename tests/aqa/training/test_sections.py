"""Each stage takes its own config sections, not the experiment (root) config: the module trains and
validates from its sections alone, and checkpoints written before (hyper-parameter `config` = the root
config) still load, export and feed `run:` features."""

import inspect
import json

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from aqa.config import load_config
from aqa.definers.feasibility import definer_problems
from aqa.definers.labels import fit_domain_labels, fit_labels, labels_fingerprint, train_mask
from aqa.features import EXTRACTORS, FeatureSettings
from aqa.features.cache import compute_features, features_cache_path, features_identity
from aqa.features.windows import eval_batches
from aqa.model.module import AQAModule
from aqa.model.rnc import batch_rnc
from aqa.model.sections import FITTED, module_sections
from aqa.training.checkpoint import load_checkpoint
from aqa.training.export import export, load_export

ROOT_NAMES = {"cfg", "config"}  # what a parameter holding the whole experiment config is called here
STAGE_FUNCTIONS = [
    AQAModule.__init__,
    batch_rnc,
    compute_features,
    features_identity,
    features_cache_path,
    eval_batches,
    *(method for cls in EXTRACTORS.values() for method in (cls.identity, cls.open)),
    fit_domain_labels,
    fit_labels,
    labels_fingerprint,
    train_mask,
    definer_problems,
]
FITTED_VALUES = {
    "num_domains": {"PQ": 2},
    "target_mean": [5.0, 4.0],
    "target_std": [2.0, 1.5],
    "class_weights": None,
    "domain_names": {"PQ": ["a", "b"]},
}


@pytest.mark.parametrize("function", STAGE_FUNCTIONS, ids=lambda f: f.__qualname__)
def test_stage_functions_take_sections_not_the_root_config(function):
    names = set(inspect.signature(function).parameters)
    assert not names & ROOT_NAMES, f"{function.__qualname__} takes the root config: {sorted(names)}"


def test_feature_settings_hold_only_their_sections(tiny_overrides):
    cfg = load_config(None, tiny_overrides)
    settings = FeatureSettings.from_config(cfg)
    assert (settings.data, settings.encoder, settings.embeddings) == (
        cfg.data,
        cfg.model.encoder,
        cfg.domain.embeddings,
    )


def test_module_sections_resolve_the_plateau_fallbacks(tiny_overrides):
    cfg = load_config(None, [*tiny_overrides, "optim.scheduler=plateau", "checkpoint.mode=min"])
    sections = module_sections(cfg)
    assert sections["optim"]["plateau_monitor"] == cfg.checkpoint.monitor
    assert sections["optim"]["plateau_mode"] == "min"
    assert sections["record"] == OmegaConf.to_container(cfg, resolve=True)
    own = module_sections(load_config(None, [*tiny_overrides, "optim.plateau_monitor=val/rnc_loss"]))
    assert own["optim"]["plateau_monitor"] == "val/rnc_loss"


def _batches(count: int, n: int = 6) -> list[dict]:
    """Batches as the data module gives them (aspects PQ, PC; label column `bitrate`; two sources)."""
    gen = torch.Generator().manual_seed(0)
    out = []
    for b in range(count):
        out.append(
            {
                "audio": 0.1 * torch.randn(n, 12000, generator=gen),
                "lengths": torch.tensor([12000, 9000, 12000, 7000, 12000, 10000][:n]),
                "targets": 5.0 + 2.0 * torch.randn(n, 2, generator=gen),
                "domains": torch.tensor([[i % 2, -1] for i in range(n)]),
                "labels": torch.tensor([[16.0], [32.0], [float("inf")], [64.0], [16.0], [128.0]][:n]),
                "window": torch.zeros(n, dtype=torch.long),
                "weight": torch.ones(n),
                "ids": [f"c{b}_{i}" for i in range(n)],
                "systems": [f"s{i % 3}" for i in range(n)],
                "datasets": [f"d{i % 2}" for i in range(n)],
            }
        )
    return out


def test_module_without_record_trains_and_validates(tiny_overrides):
    """Built from its sections with no experiment config at all: a training and a validation step run."""
    overrides = ["data.aspects=[PQ,PC]", "data.label_columns=[bitrate]", "metrics.min_source_clips=2"]
    overrides += ["loss.rnc_weight=0.1", "loss.rnc_bitrate=bitrate", "model.head_hidden=16"]
    sections = module_sections(load_config(None, [*tiny_overrides, *overrides])) | {"record": None}
    torch.manual_seed(0)
    module = AQAModule(**sections, **FITTED_VALUES)
    assert not hasattr(module, "cfg") and module.hparams["record"] is None
    trainer = L.Trainer(
        accelerator="cpu",
        fast_dev_run=True,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    loader = DataLoader(_batches(2), batch_size=None)
    trainer.fit(module, train_dataloaders=loader, val_dataloaders=loader)
    assert trainer.global_step == 1
    assert {"val/PQ/utt_srcc", "val/PC/within_srcc", "val/rnc_loss"} <= set(module.last_metrics)
    assert module.last_metrics["val/PQ/within_sources"] == 2


def _predict(module) -> torch.Tensor:
    batch = _batches(1, n=3)[0]
    with torch.no_grad():
        return module.denormalise(module(batch["audio"], batch["lengths"]).preds)


@pytest.mark.parametrize("style", ["sections", "root config"])
def test_checkpoints_of_both_styles_load_export_and_give_run_features(tiny_overrides, tmp_path, style):
    cfg = load_config(None, [*tiny_overrides, "data.aspects=[PQ,PC]", "model.head_hidden=16"])
    torch.manual_seed(0)
    module = AQAModule(**module_sections(cfg), **FITTED_VALUES).eval()
    with torch.no_grad():  # trained adapters: lora_B starts at zero
        for name, p in module.encoder.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    if style == "sections":
        hyper_parameters = dict(module.hparams)
    else:  # what every checkpoint before the sections stored
        hyper_parameters = {"config": OmegaConf.to_container(cfg, resolve=True), **FITTED_VALUES}
    module.domain_table = {"ids": ["x"], "labels": {"PQ": [1]}}
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": hyper_parameters}
    module.on_save_checkpoint(checkpoint)
    path = tmp_path / "model.ckpt"
    torch.save(checkpoint, path)
    expected = _predict(module)

    loaded, loaded_cfg, rate = load_checkpoint(path, ["model.head_dropout=0.0"])
    torch.testing.assert_close(_predict(loaded), expected)
    assert rate == 24000 and loaded.model_cfg.head_dropout == 0.0 == loaded_cfg.model.head_dropout
    assert loaded.domain_table == module.domain_table and loaded.domain_names == {"PQ": ["a", "b"]}
    assert loaded.hparams["record"] == OmegaConf.to_container(loaded_cfg, resolve=True)

    out = export(path, tmp_path / "export")
    meta = json.loads((out / "aqa_export.json").read_text())
    assert set(meta["hyper_parameters"]) == set(FITTED)  # the export format is unchanged
    exported, _ = load_export(out)
    torch.testing.assert_close(_predict(exported), expected, atol=1e-5, rtol=0)

    window_fn = EXTRACTORS["run"](str(path)).open(FeatureSettings.from_config(cfg), rate)
    batch = _batches(1, n=3)[0]
    with torch.no_grad():
        pooled = module.features(batch["audio"], batch["lengths"]).flatten(1).double().numpy()
    torch.testing.assert_close(
        torch.from_numpy(window_fn(batch["audio"], batch["lengths"])), torch.from_numpy(pooled)
    )
