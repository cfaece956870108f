"""Readers of the published formats, run on the real manifests shipped in data_modules/published (no audio)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aqa.config.load import load_config
from data_modules.manifest import ManifestError, detect_format, load_table
from data_modules.published import AES_NATURAL_DIR, PUBLISHED_DIR, TRACK2_DIR

TRACK2 = TRACK2_DIR
AES = AES_NATURAL_DIR
DATASETS = {
    "unbalanced_train_segments",
    "musiccaps",
    "cv-corpus-13.0-2023-03-09",
    "MUSDB18",
    "LibriTTS",
    "EARS",
}
LONG = ["Production_Quality", "Production_Complexity", "Content_Enjoyment", "Content_Usefulness"]


def _cfg(data_cfg, manifest, *overrides):
    # the published ratings run 0-10 (means down to 0.7), so the declared scale must say so
    return data_cfg(
        manifest, "data.aspects=[PQ,PC,CE,CU]", "data.scale=[0,10]", "data.root=/data/aqa", *overrides
    )


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (TRACK2 / "audiomos2025-track2-train_list.csv", "audiomos2025_track2"),
        (TRACK2 / "audiomos2025_track2_human_annotations.jsonl", "aes"),
        (AES / "AES_natural_music.jsonl", "aes"),
    ],
)
def test_formats_are_detected(path, fmt):
    assert detect_format(path) == fmt


@pytest.mark.parametrize(("name", "rows"), [("train", 2700), ("dev", 250)])
def test_track2_csv(data_cfg, name, rows):
    manifest = TRACK2 / f"audiomos2025-track2-{name}_list.csv"
    table = load_table(_cfg(data_cfg, manifest))
    raw = pd.read_csv(manifest)
    assert len(table) == rows and table["id"].is_unique
    assert table["id"].tolist() == raw["sample_id"].tolist()
    assert set(table["dataset"]) == DATASETS
    assert (table["system"] == table["dataset"]).all()  # natural audio: no system column
    assert table["path"].tolist() == [p.replace("/your_path", "/data/aqa") for p in raw["data_path"]]
    np.testing.assert_array_equal(table[["PQ", "PC", "CE", "CU"]].to_numpy(), raw[LONG].to_numpy())
    # grouped by system (= source dataset here): no dataset in two splits
    assert (table.groupby("system")["split"].nunique() == 1).all()


def test_track2_evaluation_annotations(data_cfg):
    table = load_table(_cfg(data_cfg, TRACK2 / "audiomos2025_track2_human_annotations.jsonl"))
    # 3060 records = 36 systems x 85 clips (the file has no newline after its last record: `wc -l` says 3059)
    assert len(table) == 3060 and table["id"].is_unique
    assert table["system"].nunique() == 36 and set(table["system"].value_counts()) == {85}
    first = table.iloc[0]
    assert first["id"] == "audiomos2025-track2-sys0v1wm-utt0dJodp" and first["system"] == "sys0v1wm"
    assert first["path"] == "/data/aqa/audiomos2025-track2-sys0v1wm-utt0dJodp.wav"
    assert first["PQ_ratings"] == [3.0, 4.0, 7.0, 7.0, 6.0, 4.0, 4.0, 5.0, 4.0, 4.0]
    assert first["PQ"] == pytest.approx(4.8)
    for aspect in ("PQ", "PC", "CE", "CU"):
        assert table[f"{aspect}_ratings"].map(len).eq(10).all()
        np.testing.assert_allclose(table[aspect], table[f"{aspect}_ratings"].map(np.mean))
    assert (table.groupby("system")["split"].nunique() == 1).all()
    assert set(table["split"]) == {"train", "val", "test"}


@pytest.mark.parametrize(
    ("name", "rows", "datasets"),
    [
        ("AES_natural_music.jsonl", 1000, None),
        ("AES_natural_sound.jsonl", 1000, None),
        ("AES_natural_speech.jsonl", 950, None),
        ("AES_PAM.jsonl", 1000, {"PAM"}),
    ],
)
def test_aes_natural(data_cfg, name, rows, datasets):
    table = load_table(_cfg(data_cfg, AES / name, "data.split.group_by=id"))
    assert len(table) == rows and table["id"].is_unique
    assert not table["id"].str.startswith("/your_path").any()
    assert table["path"].str.startswith("/data/aqa/").all()
    assert table["dataset"].notna().all() and "unknown" not in set(table["dataset"])
    assert table["path"].tolist() == ["/data/aqa/" + i for i in table["id"]]
    assert table["dataset"].tolist() == [i.split("/")[0] for i in table["id"]]
    if datasets:
        assert set(table["dataset"]) == datasets
    assert table["CE_ratings"].map(len).eq(10).all()


def test_long_aspect_names_in_config(data_cfg):
    cfg = data_cfg(
        TRACK2 / "audiomos2025-track2-dev_list.csv", f"data.aspects=[{LONG[0]},CE]", "data.scale=[0,10]"
    )
    table = load_table(cfg)
    assert {LONG[0], "CE"} <= set(table.columns) and "Content_Enjoyment" not in table


def test_default_scale_rejects_published_zero_ratings(data_cfg):
    cfg = data_cfg(TRACK2 / "audiomos2025-track2-dev_list.csv", "data.aspects=[PQ,PC,CE,CU]")
    with pytest.raises(ManifestError, match=r"out_of_scale.*outside data.scale \[1, 10\]"):
        load_table(cfg)


def test_root_left_unset_keeps_placeholder(data_cfg):
    table = load_table(data_cfg(TRACK2 / "audiomos2025-track2-dev_list.csv", "data.aspects=[PQ]"))
    assert table["path"].str.startswith("/your_path/").all()


def _musiceval(tmp_path, tone, header=False):
    lines = {
        "train": ["audiomos2025-track1-S002_P044.wav,3.5,4.0", "audiomos2025-track1-S003_P001.wav,2.0,2.5"],
        "dev": ["audiomos2025-track1-S004_P044.wav,4.25,3.0"],
    }
    (tmp_path / "me" / "sets").mkdir(parents=True)
    for split, rows in lines.items():
        text = ("wavname,overall,textual\n" if header else "") + "\n".join(rows) + "\n"
        (tmp_path / "me" / "sets" / f"{split}_mos_list.txt").write_text(text)
        for row in rows:
            tone(tmp_path / "me" / "wav" / row.split(",")[0], 0.5)
    return tmp_path / "me"


@pytest.mark.parametrize("header", [False, True])
def test_musiceval_lists(tmp_path, tone, data_cfg, header):
    folder = _musiceval(tmp_path, tone, header)
    assert detect_format(folder) == "musiceval"
    table = load_table(data_cfg(folder, "data.aspects=[overall,textual]", "data.scale=[1,5]"))
    table = table.sort_values("id").reset_index(drop=True)
    assert table["id"].tolist() == [
        f"audiomos2025-track1-{s}" for s in ("S002_P044", "S003_P001", "S004_P044")
    ]
    assert table["system"].tolist() == ["S002", "S003", "S004"]
    assert table["prompt"].tolist() == ["P044", "P001", "P044"]
    assert table["split"].tolist() == ["train", "train", "val"]
    assert table["overall"].tolist() == [3.5, 2.0, 4.25] and table["textual"].tolist() == [4.0, 2.5, 3.0]
    assert all(Path(p).is_file() for p in table["path"])


def test_track2_experiment_reads_train_dev_and_evaluation_files(data_cfg):
    """experiments/audiomos2025_track2.yaml: train list + dev list (val) + evaluation annotations (test)."""
    cfg = _cfg(
        data_cfg,
        TRACK2 / "audiomos2025-track2-train_list.csv",
        f"data.split_manifests={{val: {TRACK2 / 'audiomos2025-track2-dev_list.csv'}, "
        f"test: {TRACK2 / 'audiomos2025_track2_human_annotations.jsonl'}}}",
    )
    table = load_table(cfg)
    assert table.groupby("split").size().to_dict() == {"train": 2700, "val": 250, "test": 3060}
    assert table["id"].is_unique
    assert set(table.loc[table["split"] == "test", "system"].unique()).isdisjoint(DATASETS)
    assert table.loc[table["split"] == "test", "PQ_ratings"].map(len).eq(10).all()


def test_missing_split_manifest_is_named(data_cfg):
    cfg = _cfg(
        data_cfg, TRACK2 / "audiomos2025-track2-train_list.csv", "data.split_manifests={val: /nope.csv}"
    )
    with pytest.raises(FileNotFoundError, match="split_manifests.val"):
        load_table(cfg)


def test_track2_experiment_file_points_at_the_shipped_lists(monkeypatch):
    """The experiment as a user runs it from a clone: its manifests are the copies shipped in the repo."""
    repo = PUBLISHED_DIR.parents[1]
    monkeypatch.chdir(repo)
    cfg = load_config(repo / "experiments/audiomos2025_track2.yaml", ["data.root=/data/aqa"])
    paths = [Path(cfg.data.manifest), *(Path(p) for p in cfg.data.split_manifests.values())]
    assert all(not p.is_absolute() and (repo / p).resolve().parent == TRACK2_DIR for p in paths)
    table = load_table(cfg.data)
    assert table.groupby("split").size().to_dict() == {"train": 2700, "val": 250, "test": 3060}


def test_shipped_lists_carry_their_licence_and_checksums():
    import hashlib

    readme = (PUBLISHED_DIR / "README.md").read_text()
    assert "CC-BY 4.0" in readme and "2618e9d451b456e9328b39495b5e6234678aa550" in readme
    sums = [line.split("  ") for line in (PUBLISHED_DIR / "SHA256SUMS").read_text().splitlines()]
    assert len(sums) == 7
    for digest, name in sums:
        assert hashlib.sha256((PUBLISHED_DIR / name).read_bytes()).hexdigest() == digest, name
