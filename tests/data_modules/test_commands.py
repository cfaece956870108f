"""`aqa validate` and `aqa prepare` on small manifests with placeholder audio."""

import numpy as np
import pytest
import soundfile as sf
import yaml

from aqa.cli import main as aqa
from data_modules.published import TRACK2_DIR

SR = 16000


@pytest.fixture
def experiment(tmp_path, clips, tiny_overrides):
    """An experiment YAML over 10 tones (train/val/test); returns (yaml path, table, overrides)."""
    table = clips(
        tmp_path,
        [
            (0.4 + 0.05 * k, SR, 1 + k % 2, ["train", "train", "val", "test"][k % 4], f"s{k}")
            for k in range(10)
        ],
    )
    table.to_csv(tmp_path / "m.csv", index=False)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"data": {"manifest": str(tmp_path / "m.csv"), "aspects": ["PQ", "CE"]}}))
    # 2 val clips rank nothing within a source: a monitor they can compute (else validate reports the monitor)
    monitor = "checkpoint.monitor=val/mean/utt_mse"
    return path, table, [*tiny_overrides, f"data.cache_dir={tmp_path}/cache", monitor]


def test_validate_clean_manifest(experiment, capsys):
    path, _, overrides = experiment
    assert aqa(["validate", str(path), *overrides]) == 0
    out = capsys.readouterr().out
    assert "no problems found" in out and "10 rows per split" in out


def test_validate_reports_counts_and_first_rows(experiment, capsys):
    path, table, overrides = experiment
    folder = path.parent
    (folder / "audio/c1.wav").unlink()
    sf.write(folder / "audio/c5.wav", np.zeros(SR), SR)
    table["PQ"] = table["PQ"].astype(float)
    table.loc[4, "PQ"] = 12.0  # outside [1, 10]
    table.loc[6, "CE"] = np.nan  # partial MOS: a warning
    table.loc[8, "id"] = "c9"  # duplicate
    table.to_csv(folder / "m.csv", index=False)
    assert aqa(["validate", str(path), *overrides]) == 1
    out = capsys.readouterr().out
    for kind, count in [
        ("missing_file", 1),
        ("silent", 1),
        ("out_of_scale", 1),
        ("missing_mos", 1),
        ("duplicate_id", 2),
    ]:
        assert f"│ {kind}" in out and f"{kind} (first {min(count, 3)} of {count})" in out
    assert f"row 1 (id c1, file {folder}/audio/c1.wav): audio file not found" in out
    assert f"row 5 (id c5, file {folder}/audio/c5.wav): audio is all silent" in out
    assert "row 4 (id c4," in out and "PQ=12 outside data.scale [1, 10]" in out
    assert "too_many_skips" in out  # 2 of 10 > 0.05


def test_validate_counts_too_short_clips_as_skips(experiment, capsys):
    """A clip under the encoder's 400 samples is a counted skip in the report, not a KeyError."""
    path, _, overrides = experiment
    sf.write(path.parent / "audio/c3.wav", np.full(SR // 100, 0.1), SR)  # 10 ms: 240 samples at 24 kHz
    assert aqa(["validate", str(path), *overrides, "data.max_skip_fraction=0.2"]) == 0
    out = capsys.readouterr().out
    assert "│ too_short" in out and "skipped (counted)" in out
    assert f"row 3 (id c3, file {path.parent}/audio/c3.wav): audio is shorter than" in out
    assert "1 clip(s) would be skipped; OK for training" in out


def test_every_skip_reason_has_a_message_and_effect():
    from data_modules.audio import SKIP_REASONS, AudioError
    from data_modules.audio.errors import SKIP, WARN

    assert {"missing_file", "unreadable", "empty", "too_short", "non_finite", "silent", "no_mos"} <= set(
        SKIP_REASONS
    )
    assert all(r.message and r.effect in (SKIP, WARN) for r in SKIP_REASONS.values())
    with pytest.raises(ValueError, match="unknown skip reason 'made_up'"):
        AudioError("made_up", "x.wav")


def test_validate_missing_aspect(experiment, capsys):
    path, _, overrides = experiment
    assert aqa(["validate", str(path), *overrides, "data.aspects=[PQ,CU]"]) == 1
    assert "aspect 'CU' from data.aspects is not a column" in capsys.readouterr().out


def test_prepare_builds_the_cache(experiment, capsys):
    path, _, overrides = experiment
    assert aqa(["prepare", str(path), *overrides]) == 0
    cached = list((path.parent / "cache").rglob("*.npy"))
    assert len(cached) == 10
    assert "cached 10 clip(s)" in capsys.readouterr().out
    mtimes = sorted(p.stat().st_mtime_ns for p in cached)
    assert aqa(["prepare", str(path), *overrides]) == 0  # second run: nothing rewritten
    assert sorted(p.stat().st_mtime_ns for p in cached) == mtimes


def test_prepare_stops_on_too_many_skips(experiment, capsys):
    path, _, overrides = experiment
    (path.parent / "audio/c0.wav").write_bytes(b"junk")
    assert aqa(["prepare", str(path), *overrides]) == 1
    assert (
        "1 unreadable (audio file cannot be decoded: corrupt or unsupported format) > data.max_skip"
        in capsys.readouterr().out
    )


def test_validate_published_manifest_without_root_hints_at_it(tmp_path, tiny_overrides, capsys):
    manifest = TRACK2_DIR / "audiomos2025-track2-dev_list.csv"
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"data": {"manifest": str(manifest), "scale": [0, 10]}}))
    assert aqa(["validate", str(path), *tiny_overrides, f"data.cache_dir={tmp_path}/cache"]) == 1
    out = capsys.readouterr().out
    assert "│ missing_file   │ 250" in out
    assert "audio file not found (set data.root to replace /your_path)" in out


def test_system_level_warnings():
    import pandas as pd

    from data_modules.validate import system_level_warnings

    def table(split, systems, datasets):
        return pd.DataFrame({"split": split, "system": systems, "dataset": datasets})

    one_per_source = table("val", [f"d{i}" for i in range(6)], [f"d{i}" for i in range(6)])
    (message,) = system_level_warnings(one_per_source, ["val", "test"])
    assert "'val'" in message and "correlation across source means" in message
    few = table("test", ["a", "b", "c", "a"], ["d0"] * 4)
    (message,) = system_level_warnings(few, ["test"])
    assert "3 system(s)" in message
    fine = table("val", [f"s{i}" for i in range(10)], [f"d{i % 2}" for i in range(10)])
    assert system_level_warnings(fine, ["val", "val"]) == []


def test_validate_warns_about_degenerate_system_metrics(experiment, capsys):
    path, _, overrides = experiment
    assert aqa(["validate", str(path), *overrides]) == 0  # a warning, not an error
    out = capsys.readouterr().out
    assert "warning:" in out and "split 'val' has" in out  # 3 val systems
