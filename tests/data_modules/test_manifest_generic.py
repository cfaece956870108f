"""The generic CSV/JSONL manifest -> table (stage 1 contract)."""

import json
import math

import pandas as pd
import pytest

from data_modules.manifest import FormatError, ManifestError, detect_format, load_table


def test_csv_columns_paths_and_defaults(tmp_path, data_cfg):
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "path": ["x/a.wav", "/abs/b.wav"],
            "PQ": [2.5, 7],
            "CE": [3, 4],
            "mood": ["calm", "sad"],
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    table = load_table(
        data_cfg(
            tmp_path / "m.csv",
            "data.split.group_by=id",
            "data.split.ratios.val=0",
            "data.split.ratios.test=0",
        )
    )
    assert list(table.columns[:7]) == ["id", "path", "split", "system", "dataset", "start", "end"]
    assert table["path"].tolist() == [str(tmp_path / "x/a.wav"), "/abs/b.wav"]
    assert table["system"].tolist() == ["a", "b"]  # no system, no dataset -> id
    assert table["dataset"].tolist() == ["unknown", "unknown"]
    assert table["start"].isna().all() and table["end"].isna().all()
    assert table["PQ"].dtype == float and table["PQ"].tolist() == [2.5, 7.0]
    assert table["mood"].tolist() == ["calm", "sad"]  # metadata kept
    assert set(table["split"]) == {"train"}


def test_system_defaults_to_dataset(tmp_path, data_cfg):
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "path": ["a.wav", "b.wav"],
            "PQ": [2, 3],
            "CE": [3, 4],
            "dataset": ["d1", "d2"],
            "split": ["train", "val"],
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    table = load_table(data_cfg(tmp_path / "m.csv"))
    assert table["system"].tolist() == ["d1", "d2"]
    assert table["split"].tolist() == ["train", "val"]


def test_jsonl_rating_lists_segments_and_aliases(tmp_path, data_cfg):
    rows = [
        {"id": "a", "path": "a.flac", "Production_Quality": [2, 4, 6], "CE": 5, "start": 0.5, "end": 2.0},
        {"id": "b", "path": "b.flac", "Production_Quality": [8, 9], "CE": 6},
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = load_table(
        data_cfg(
            tmp_path / "m.jsonl",
            "data.split.group_by=id",
            "data.split.ratios.val=0",
            "data.split.ratios.test=0",
        )
    )
    assert table["PQ"].tolist() == [4.0, 8.5]  # config PQ found under its long name; target = mean
    assert table["PQ_ratings"].tolist() == [[2, 4, 6], [8, 9]]
    assert "Production_Quality" not in table
    assert table["start"][0] == 0.5 and table["end"][0] == 2.0
    assert math.isnan(table["start"][1])


def test_detect_format_never_guesses(tmp_path):
    (tmp_path / "odd.csv").write_text("name,file,score\nx,y,1\n")
    with pytest.raises(FormatError, match="unknown manifest layout"):
        detect_format(tmp_path / "odd.csv")
    (tmp_path / "m.csv").write_text("id,path,PQ\nx,y,1\n")
    assert detect_format(tmp_path / "m.csv") == "generic"


def test_configured_format_must_match(tmp_path, data_cfg):
    (tmp_path / "m.csv").write_text("sample_id,data_path,PQ\nx,y,1\n")
    with pytest.raises(FormatError, match="lacks column"):
        load_table(data_cfg(tmp_path / "m.csv", "data.format=generic"))


def test_corpus_branch_reads_generated_manifest(tmp_path, data_cfg, monkeypatch):
    import sys
    import types

    manifest = tmp_path / "corpus" / "manifest.csv"
    manifest.parent.mkdir()
    pd.DataFrame({"id": ["a"], "path": ["a.wav"], "PQ": [3], "CE": [4], "split": ["train"]}).to_csv(
        manifest, index=False
    )
    seen = []
    fake = types.ModuleType("data_modules.corpus.generate")
    fake.ensure_corpus = lambda cfg: seen.append(cfg) or manifest
    monkeypatch.setitem(sys.modules, "data_modules.corpus.generate", fake)
    table = load_table(data_cfg("unused.csv", "data.corpus.enabled=true"))
    assert len(seen) == 1 and table["path"].tolist() == [str(manifest.parent / "a.wav")]


def test_problems_are_listed_with_row_and_file(tmp_path, data_cfg):
    pd.DataFrame(
        {"id": ["a", "a"], "path": ["a.wav", "b.wav"], "PQ": [3, 4], "CE": [4, 5], "split": ["train"] * 2}
    ).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ManifestError, match=r"row 1 \(id a, file .*b\.wav\).*more than once"):
        load_table(data_cfg(tmp_path / "m.csv"))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_audio_list_keeps_ids_as_written_and_reads_segment_aliases(tmp_path, suffix):
    from data_modules.manifest.readers import read_audio_list

    rows = pd.DataFrame(
        {"id": ["001", "1e3", "x"], "path": ["a.wav", "/abs/b.wav", "c.wav"], "start_time": [0.5, 1, None]}
    )
    listing = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        rows.to_csv(listing, index=False)
    else:
        rows.to_json(listing, orient="records", lines=True)
    table = read_audio_list(listing)
    assert table["id"].tolist() == ["001", "1e3", "x"]
    assert table["path"].tolist() == [str(tmp_path / "a.wav"), "/abs/b.wav", str(tmp_path / "c.wav")]
    assert table["start"].tolist()[:2] == [0.5, 1.0] and "start_time" not in table


def test_generic_manifest_reads_start_time_and_refuses_both_names(tmp_path):
    from data_modules.manifest import FormatError
    from data_modules.manifest.readers import read_generic

    path = tmp_path / "m.csv"
    pd.DataFrame({"id": ["007"], "path": ["a.wav"], "start_time": [1.0], "end_time": [2.0]}).to_csv(
        path, index=False
    )
    table = read_generic(path, None)
    assert table[["id", "start", "end"]].values.tolist() == [["007", 1.0, 2.0]]
    pd.DataFrame({"id": ["1"], "path": ["a.wav"], "end": [1.0], "end_time": [2.0]}).to_csv(path, index=False)
    with pytest.raises(FormatError, match="both `end` and `end_time`"):
        read_generic(path, None)
