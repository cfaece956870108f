"""Each kind of bad input gets a clear message naming the row and file, or a counted skip."""

import logging

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from data_modules.datamodule import AQADataModule
from data_modules.manifest import ManifestError, load_table
from data_modules.usable import DataError

SR = 16000


@pytest.fixture
def manifest(tmp_path, clips):
    """12 good clips (8 train, 2 val, 2 test); `bad(kind)` breaks clip c0 (a train clip) in one way."""
    splits = ["train", "train", "train", "train", "val", "test"]
    table = clips(tmp_path, [(0.5, SR, 1, splits[k % 6], f"s{k}") for k in range(12)])
    path = tmp_path / "m.csv"

    def bad(kind: str):
        wav = tmp_path / "audio" / "c0.wav"
        if kind == "missing_file":
            wav.unlink()
        elif kind == "unreadable":
            wav.write_bytes(b"RIFF\x00\x00 not really a wav file" * 10)
        elif kind == "empty":
            sf.write(wav, np.zeros(0), SR)
        elif kind == "silent":
            sf.write(wav, np.zeros(SR), SR)
        elif (
            kind == "too_short"
        ):  # 10 ms: shorter than the encoder's first conv frame (400 samples at 24 kHz)
            sf.write(wav, np.full(SR // 100, 0.1), SR)
        elif kind == "non_finite":
            sf.write(wav, np.where(np.arange(SR) == 7, np.nan, 0.1), SR, subtype="FLOAT")
        table.to_csv(path, index=False)
        return path

    table.to_csv(path, index=False)
    return table, path, bad


def _setup(cfg):
    dm = AQADataModule(cfg, load_table(cfg), SR, list(cfg.aspects))
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("kind", ["missing_file", "unreadable", "empty", "too_short", "silent", "non_finite"])
def test_unusable_audio_is_skipped_and_counted(manifest, data_cfg, caplog, kind):
    _, path, bad = manifest
    cfg = data_cfg(bad(kind), "data.max_skip_fraction=0.1")
    with caplog.at_level(logging.WARNING):
        dm = _setup(cfg)
    assert dm.skipped == [("c0", str(path.parent / "audio/c0.wav"), kind)]
    assert "c0" not in set(dm.table["id"]) and len(dm.table) == 11
    assert f"skipped 1/12 unusable clip(s): 1 {kind}" in caplog.text and "c0.wav" in caplog.text


@pytest.mark.parametrize("kind", ["missing_file", "unreadable", "silent"])
def test_too_many_skips_is_an_error_naming_the_file(manifest, data_cfg, kind):
    _, path, bad = manifest
    with pytest.raises(
        DataError, match=rf"1 {kind} \(.*\) > data.max_skip_fraction=0.05.*id c0 \({kind}\): .*c0\.wav"
    ):
        _setup(data_cfg(bad(kind)))


def test_segment_past_the_end_is_empty(manifest, data_cfg):
    table, path, _ = manifest
    table.loc[0, ["start", "end"]] = [2.0, 3.0]  # the clip is 0.5 s long
    table.to_csv(path, index=False)
    dm = _setup(data_cfg(path, "data.max_skip_fraction=0.1"))
    assert dm.skipped[0][0::2] == ("c0", "empty")


def test_non_numeric_mos(manifest, data_cfg):
    table, path, _ = manifest
    table["PQ"] = table["PQ"].astype(object)
    table.loc[3, "PQ"] = "good"
    table.to_csv(path, index=False)
    with pytest.raises(ManifestError, match=r"row 3 \(id c3, file .*c3\.wav\): `PQ` is not a number: 'good'"):
        load_table(data_cfg(path))


def test_nan_mos_partial_is_missing_and_full_is_skipped(manifest, data_cfg):
    table, path, _ = manifest
    table.loc[1, "PQ"] = np.nan  # one aspect missing: kept, target NaN
    table.loc[2, ["PQ", "CE"]] = np.nan  # no MOS at all: unusable
    table.to_csv(path, index=False)
    dm = _setup(data_cfg(path, "data.max_skip_fraction=0.1"))
    assert dm.skipped == [("c2", str(path.parent / "audio/c2.wav"), "no_mos")]
    batch = next(iter(dm.eval_loader(dm.table[dm.table["id"] == "c1"])))
    assert np.isnan(batch["targets"][0, 0].item()) and batch["targets"][0, 1].item() == table.loc[1, "CE"]


def test_mos_outside_the_declared_scale(manifest, data_cfg):
    table, path, _ = manifest
    table["CE"] = table["CE"].astype(float)
    table.loc[5, "CE"] = 11.5
    table.to_csv(path, index=False)
    with pytest.raises(
        ManifestError, match=r"row 5 \(id c5, file .*c5\.wav\): CE=11.5 outside data.scale \[1, 10\]"
    ):
        load_table(data_cfg(path))


def test_duplicate_ids(manifest, data_cfg):
    table, path, _ = manifest
    table.loc[4, "id"] = "c7"
    table.to_csv(path, index=False)
    with pytest.raises(ManifestError, match=r"row 4 \(id c7, .*c4\.wav\).*more than once") as err:
        load_table(data_cfg(path))
    assert [p.row for p in err.value.problems] == [4, 7]


def test_aspect_missing_from_the_manifest(manifest, data_cfg):
    _, path, _ = manifest
    with pytest.raises(ManifestError, match=r"aspect 'CU' from data.aspects is not a column of .*m\.csv"):
        load_table(data_cfg(path, "data.aspects=[PQ,CU]"))


def test_empty_val_split(manifest, data_cfg):
    table, path, _ = manifest
    table["split"] = table["split"].replace({"val": "train"})
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"split 'val' is empty.*'train': 10, 'test': 2"):
        _setup(data_cfg(path))


def test_eval_split_emptied_by_skips_is_not_evaluated(manifest, data_cfg):
    table, path, _ = manifest
    table.loc[table["split"] == "test", "split"] = "test_ood"
    table.loc[table["split"] == "test_ood", ["PQ", "CE"]] = np.nan
    table.to_csv(path, index=False)
    dm = _setup(data_cfg(path, "data.max_skip_fraction=0.2"))
    assert dm.eval_split_names == [] and len(dm.skipped) == 2


def test_empty_manifest_split_from_ratios(tmp_path, data_cfg):
    pd.DataFrame({"id": ["a", "b"], "path": ["a.wav", "b.wav"], "PQ": [2, 3], "CE": [3, 4]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    with pytest.raises(ValueError, match="2 group.*cannot fill 3 splits"):
        load_table(data_cfg(tmp_path / "m.csv"))


def test_eval_loader_leaves_out_unusable_new_rows(tmp_path, tone, manifest, data_cfg, caplog):
    _, path, _ = manifest
    dm = _setup(data_cfg(path))
    rows = pd.DataFrame(
        {
            "id": ["ok", "gone"],
            "path": [tone(tmp_path / "ok.wav", 0.3), str(tmp_path / "gone.wav")],
            "system": "x",
        }
    )
    with caplog.at_level(logging.WARNING):
        batches = list(dm.eval_loader(rows))
    assert [b["ids"] for b in batches] == [["ok"]]
    assert "skipped 1/2 unusable clip(s): 1 missing_file" in caplog.text and "gone.wav" in caplog.text
