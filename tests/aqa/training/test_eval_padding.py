"""Padded, length-sorted evaluation batches score every window as a batch of one does (fp32, <= 1e-4)."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from omegaconf import OmegaConf

from aqa.config import load_config
from aqa.model.encoder import encoder_sample_rate
from aqa.model.module import AQAModule
from aqa.model.sections import module_sections
from data_modules.datamodule import AQADataModule

TOLERANCE = 1e-4  # fp32, MOS units: the stated bound of padded evaluation
MERT_95M = [  # HubertConfig() defaults = MERT-v1-95M's architecture
    "model.encoder.tiny.hidden_size=768",
    "model.encoder.tiny.num_hidden_layers=12",
    "model.encoder.tiny.num_attention_heads=12",
    "model.encoder.tiny.intermediate_size=3072",
    "model.encoder.tiny.conv_dim=512",
]


def _manifest(folder, seconds: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i, s in enumerate(seconds):
        sr = 16000 if i % 2 else 24000  # resampled: lengths in samples vary finely
        sf.write(folder / f"c{i}.wav", rng.normal(0, 0.1, int(sr * s)).astype(np.float32), sr)
        rows.append({"id": f"c{i}", "path": str(folder / f"c{i}.wav"), "split": "test", "PQ": 5.0})
    return pd.DataFrame(rows)


def _window_predictions(module, cfg, table, batch_size: int) -> tuple[dict, float]:
    """{(id, window): (A,) prediction} and the mean padding fraction of the batches."""
    cfg = OmegaConf.merge(cfg, {"data": {"eval_batch_size": batch_size}})
    dm = AQADataModule(cfg.data, table, encoder_sample_rate(cfg.model.encoder), list(cfg.data.aspects))
    dm.setup("test")
    out, padding = {}, []
    with torch.no_grad():
        for batch in dm.eval_loader(dm.table):
            preds = module.predict_step(batch, 0)["preds"].numpy()
            padding.append(batch["padding_fraction"])
            for id_, window, pred in zip(batch["ids"], batch["window"].tolist(), preds):
                out[(id_, window)] = pred
    return out, float(np.mean(padding))


def _check(tmp_path, overrides, seconds, batch_size):
    cfg = load_config(
        None,
        [*overrides, "data.aspects=[PQ]", "data.eval_window_seconds=1.0", "model.encoder.mode=full"],
    )
    table = _manifest(tmp_path, seconds)
    torch.manual_seed(0)
    module = AQAModule(**module_sections(cfg), num_domains={}, target_mean=[5.0], target_std=[2.0]).eval()
    single, no_padding = _window_predictions(module, cfg, table, 1)
    padded, padding = _window_predictions(module, cfg, table, batch_size)
    assert no_padding == 0.0 and padding > 0.0  # the batched run really pads
    assert padded.keys() == single.keys()
    diff = max(float(np.abs(padded[k] - single[k]).max()) for k in single)
    assert diff <= TOLERANCE, diff
    spread = np.ptp([v[0] for v in single.values()])
    assert spread > 10 * TOLERANCE  # windows score differently: the bound is not trivially met


def test_padded_batches_match_batches_of_one(tmp_path, tiny_overrides):
    seconds = [0.3, 0.45, 0.5, 0.62, 0.7, 0.81, 0.9, 1.0, 1.37, 2.2, 0.33, 0.58]
    _check(tmp_path, tiny_overrides, seconds, batch_size=5)


@pytest.mark.slow
def test_padded_batches_match_batches_of_one_at_mert_95m_size(tmp_path, tiny_overrides):
    _check(tmp_path, [*tiny_overrides, *MERT_95M], [0.4, 0.55, 0.8, 1.0], batch_size=4)
