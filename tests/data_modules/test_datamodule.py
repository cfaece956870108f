"""AQADataModule: the batch contract, training crops, deterministic evaluation, splits."""

import numpy as np
import pandas as pd
import pytest
import torch

from data_modules.audio import decode
from data_modules.datamodule import AQADataModule
from data_modules.manifest import load_table
from data_modules.usable import DataError
from data_modules.windows import window_mean

SR = 16000


def _module(cfg, table=None, **kw):
    dm = AQADataModule(cfg, load_table(cfg) if table is None else table, SR, list(cfg.aspects), **kw)
    dm.setup("fit")
    return dm


def test_train_batches_follow_the_contract(mixed_manifest, data_cfg):
    cfg = data_cfg(mixed_manifest, "data.batch_size=4", "data.max_seconds=1.5")
    table = load_table(cfg)
    table["domain_PQ"] = np.arange(len(table)) % 3
    dm = _module(cfg, table)
    seen = []
    for batch in dm.train_dataloader():
        b, t = batch["audio"].shape
        assert batch["audio"].dtype == torch.float32 and batch["lengths"].dtype == torch.long
        assert batch["targets"].shape == (b, 2) and batch["targets"].dtype == torch.float32
        assert batch["domains"].shape == (b, 2) and batch["domains"].dtype == torch.long
        assert batch["window"].tolist() == [0] * b and batch["weight"].tolist() == [1.0] * b
        assert len(batch["ids"]) == len(batch["systems"]) == b
        assert t == int(batch["lengths"].max()) <= int(1.5 * SR)
        for row, id_ in enumerate(batch["ids"]):
            clip = table[table["id"] == id_].iloc[0]
            assert batch["targets"][row].tolist() == [clip["PQ"], clip["CE"]]
            assert batch["domains"][row].tolist() == [
                clip["domain_PQ"],
                -1,
            ]  # no domain_CE column -> -1 (unknown)
            assert batch["systems"][row] == clip["system"]
            assert batch["audio"][row, batch["lengths"][row] :].abs().sum() == 0  # zero padding
        real = batch["lengths"].sum().item()
        assert batch["padding_fraction"] == pytest.approx(1 - real / (b * t))
        seen += batch["ids"]
    assert sorted(seen) == sorted(table.loc[table["split"] == "train", "id"])


def test_training_crop_is_a_slice_of_the_clip(tmp_path, clips, data_cfg):
    clips(tmp_path, [(3.0, SR, 1, "train", "a"), (0.5, SR, 1, "val", "b")]).to_csv(
        tmp_path / "m.csv", index=False
    )
    cfg = data_cfg(tmp_path / "m.csv", "data.max_seconds=1.0")
    dm = _module(cfg)
    full = decode(str(tmp_path / "audio/c0.wav"), SR)
    torch.manual_seed(0)
    offsets = set()
    for _ in range(5):
        crop = next(iter(dm.train_dataloader()))["audio"][0].numpy()
        assert len(crop) == SR
        offset = int(
            np.argmin([np.abs(full[o : o + 64] - crop[:64]).sum() for o in range(len(full) - SR + 1)])
        )
        np.testing.assert_array_equal(full[offset : offset + SR], crop)
        offsets.add(offset)
    assert len(offsets) > 1  # random crops


def _clip_scores(loader):
    """A stand-in model: per-window mean and energy of the valid samples, combined per clip."""
    rows = {}
    for batch in loader:
        assert batch["audio"].shape[1] == int(batch["lengths"].max())
        valid = [a[:n] for a, n in zip(batch["audio"], batch["lengths"].tolist())]
        for a, n in zip(batch["audio"], batch["lengths"].tolist()):
            assert a[n:].abs().sum() == 0  # zero padding
        feats = torch.stack([torch.stack([v.mean(), v.pow(2).mean()]) for v in valid]).double()
        for id_, w, weight, f in zip(batch["ids"], batch["window"].tolist(), batch["weight"].tolist(), feats):
            rows.setdefault(id_, {})[w] = (weight, f.numpy())
    return {
        id_: window_mean(np.stack([f for _, f in w.values()]), np.array([wt for wt, _ in w.values()]))
        for id_, w in rows.items()
    }


def test_evaluation_is_identical_across_batch_sizes(mixed_manifest, data_cfg):
    results = []
    for size in (1, 3, 16):
        cfg = data_cfg(mixed_manifest, f"data.eval_batch_size={size}", "data.eval_window_seconds=0.7")
        dm = _module(cfg)
        results.append(_clip_scores(dm.eval_loader(dm.table)))
    assert len(results[0]) == 24
    for other in results[1:]:
        assert other.keys() == results[0].keys()
        for id_ in other:
            np.testing.assert_array_equal(other[id_], results[0][id_])


def test_eval_windows_and_weights(tmp_path, clips, data_cfg):
    clips(tmp_path, [(2.5, SR, 1, "train", "a"), (0.4, SR, 1, "val", "b")]).to_csv(
        tmp_path / "m.csv", index=False
    )
    dm = _module(data_cfg(tmp_path / "m.csv", "data.eval_window_seconds=1.0"))
    batches = list(dm.eval_loader(dm.table))
    got = sorted(
        (i, w, wt, a)
        for b in batches
        for i, w, wt, a in zip(b["ids"], b["window"].tolist(), b["weight"].tolist(), b["lengths"].tolist())
    )
    assert got == [
        ("c0", 0, 16000.0, 16000),
        ("c0", 1, 16000.0, 16000),
        ("c0", 2, 8000.0, 16000),
        ("c1", 0, 6400.0, 6400),
    ]
    full = decode(str(tmp_path / "audio/c0.wav"), SR)
    last = next(
        b["audio"][k]
        for b in batches
        for k, (i, w) in enumerate(zip(b["ids"], b["window"]))
        if (i, w) == ("c0", 2)
    )
    np.testing.assert_array_equal(last.numpy(), full[-SR:])  # the last window is aligned to the end


def test_val_and_test_loaders(mixed_manifest, data_cfg):
    dm = _module(data_cfg(mixed_manifest))
    assert dm.eval_split_names == ["test"]  # test_ood is configured but absent
    val_ids = {i for b in dm.val_dataloader() for i in b["ids"]}
    assert val_ids == set(dm.table.loc[dm.table["split"] == "val", "id"])
    (test,) = dm.test_dataloader()
    assert {i for b in test for i in b["ids"]} == set(dm.table.loc[dm.table["split"] == "test", "id"])


def test_workers_give_the_same_eval_batches(mixed_manifest, data_cfg):
    base = _module(data_cfg(mixed_manifest))
    workers = _module(data_cfg(mixed_manifest, "data.num_workers=2"))
    for a, b in zip(base.val_dataloader(), workers.val_dataloader(), strict=True):
        assert a["ids"] == b["ids"] and torch.equal(a["audio"], b["audio"])


def test_empty_train_split_is_an_error(mixed_manifest, data_cfg):
    table = load_table(data_cfg(mixed_manifest))
    table["split"] = table["split"].replace({"train": "test"})
    with pytest.raises(DataError, match="split 'train' is empty"):
        _module(data_cfg(mixed_manifest), table)


def test_eval_loader_on_new_rows(tmp_path, tone, mixed_manifest, data_cfg):
    dm = _module(data_cfg(mixed_manifest))
    path = tone(tmp_path / "new.flac", 1.2, rate=48000, channels=2)
    rows = pd.DataFrame({"id": ["new"], "path": [path], "system": ["x"]})  # no targets: predict
    (batch,) = list(dm.eval_loader(rows))
    assert batch["ids"] == ["new"] and batch["lengths"].tolist() == [int(1.2 * SR)]
    assert torch.isnan(batch["targets"]).all()


def test_lightning_epoch_hook_reshuffles(mixed_manifest, data_cfg):
    from lightning.fabric.utilities.data import _set_sampler_epoch  # what the fit loop calls each epoch

    loader = _module(data_cfg(mixed_manifest, "data.batch_size=2")).train_dataloader()
    _set_sampler_epoch(loader, 0)
    first = list(loader.batch_sampler)
    _set_sampler_epoch(loader, 1)
    assert list(loader.batch_sampler) != first
    _set_sampler_epoch(loader, 0)
    assert list(loader.batch_sampler) == first
