"""data.neutral_splits: rows of a split rated in one neutral listening test get domain label -1 for every
aspect, so a bias (or conditioned) model predicts for the neutral test there, not for the clip's source."""

import numpy as np
import pandas as pd
import pytest
import torch

from aqa.config import load_config
from aqa.config.load import ConfigError
from aqa.model.module import AQAModule
from aqa.model.sections import module_sections
from aqa.training.train import build_table
from data_modules.manifest import load_table
from data_modules.manifest.columns import attach_domains, domain_matrix

ASPECTS = ["PQ", "PC", "CE", "CU"]
K = 3


def _table() -> pd.DataFrame:
    splits = ["train"] * 6 + ["val_mixed"] * 3 + ["test"] * 3
    return pd.DataFrame({"id": [f"c{i}" for i in range(12)], "split": splits})


def _labels(table) -> dict[str, np.ndarray]:
    return {a: (np.arange(len(table)) + j) % K for j, a in enumerate(ASPECTS)}


def test_rows_of_a_neutral_split_get_unknown_labels_for_every_aspect():
    table = _table()
    plain = domain_matrix(attach_domains(table, table["id"], _labels(table), ASPECTS), ASPECTS)
    neutral = domain_matrix(
        attach_domains(table, table["id"], _labels(table), ASPECTS, ["val_mixed"]), ASPECTS
    )
    rows = (table["split"] == "val_mixed").to_numpy()
    assert (neutral[rows] == -1).all() and (plain[rows] >= 0).all()
    assert (neutral[~rows] == plain[~rows]).all()  # other splits keep their labels


def test_a_bias_model_on_a_neutral_split_predicts_as_with_unknown_labels(tiny_overrides):
    cfg = load_config(None, [*tiny_overrides, "model.domain_handling=bias", "model.head_hidden=16"])
    torch.manual_seed(0)
    module = AQAModule(
        **module_sections(cfg),
        num_domains={a: K for a in ASPECTS},
        target_mean=[5.0] * 4,
        target_std=[2.0] * 4,
    ).eval()
    with torch.no_grad():  # a trained bias: distinct offsets and scales per domain
        for handling in module.aspect_model.handlings.values():
            bias = handling.bias
            bias.offset.copy_(torch.tensor([-1.0, 0.2, 0.8]))
            bias.log_scale.copy_(torch.tensor([0.3, -0.1, -0.2]))
    table = _table()
    rows = (table["split"] == "val_mixed").to_numpy()
    audio = torch.randn(int(rows.sum()), 12000, generator=torch.Generator().manual_seed(1))
    lengths = torch.full((len(audio),), audio.shape[1], dtype=torch.long)

    def preds(neutral_splits):
        labelled = attach_domains(table, table["id"], _labels(table), ASPECTS, neutral_splits)
        domains = torch.from_numpy(domain_matrix(labelled, ASPECTS)[rows])
        with torch.no_grad():
            return module(audio, lengths, domains).preds

    unknown = module(audio, lengths, torch.full((len(audio), 4), -1)).preds.detach()
    assert torch.equal(preds(["val_mixed"]), unknown)
    assert not torch.allclose(preds([]), unknown)  # without the declaration: the source's correction


def test_training_refuses_a_neutral_train_split(tiny_overrides, tmp_path):
    cfg = load_config(None, [*tiny_overrides, "data.neutral_splits=[train]", f"run.dir={tmp_path}"])
    with pytest.raises(ConfigError, match="names the train split"):
        build_table(cfg, 24000)


@pytest.mark.slow  # one short training run on a small known-answer corpus
def test_known_answer_run_stores_unknown_labels_on_neutral_splits(train_overrides, tmp_path):
    from aqa.training.evaluate import evaluate
    from aqa.training.train import train
    from data_modules.corpus.known import NEUTRAL_SPLITS

    overrides = [
        *[o for o in train_overrides if not o.startswith("data.manifest=")],
        "data.corpus.enabled=true",
        "data.corpus.recipe=known",
        "data.corpus.size=60",
        "data.corpus.seconds=1.5",
        "data.corpus.sample_rate=16000",
        "data.eval_splits=[val_mixed,test_mixed,test_ood]",
        f"data.neutral_splits=[{','.join(NEUTRAL_SPLITS)}]",
        "trainer.max_epochs=1",
        "domain.definer=dataset",
        "model.domain_handling=bias",
        f"run.dir={tmp_path}/run",
        "checkpoint.monitor=val/mean/utt_srcc",  # 5 val clips over 4 sources: too few to rank within one
    ]
    metrics = train(load_config(None, overrides))
    checkpoint = metrics["run/best_checkpoint"]
    stored = torch.load(checkpoint, weights_only=True)["aqa_domain_table"]
    cfg = load_config(None, overrides)
    table = load_table(cfg.data).set_index("id").loc[stored["ids"]]
    neutral = table["split"].isin(NEUTRAL_SPLITS).to_numpy()
    for labels in stored["labels"].values():
        labels = np.asarray(labels)
        assert (labels[neutral] == -1).all() and (labels[~neutral] >= 0).all()
    again, _ = evaluate(checkpoint)  # `aqa eval` applies the same declaration: same numbers
    for key in ("val_mixed/PQ/utt_mse", "test_mixed/CE/utt_srcc", "val/PQ/utt_mse"):
        assert again[key] == pytest.approx(metrics[key], abs=1e-9), key
