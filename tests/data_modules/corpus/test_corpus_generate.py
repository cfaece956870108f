"""Generation: determinism, manifest content, caching, concurrency, the project's own validator."""

import json
import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aqa.config.load import load_config
from data_modules.corpus import recipe
from data_modules.corpus.config import CorpusConfig
from data_modules.corpus.generate import (
    MARKER,
    TRUTH,
    ensure_corpus,
    generate_corpus,
    is_complete,
    settings_hash,
)
from data_modules.corpus.plan import plan_corpus
from data_modules.corpus.report import load_corpus, shortcut_table

SPLITS = ("train", "val", "test", "val_ood", "test_ood")
TINY = dict(seed=1, size=12, sample_rate=8000, seconds=0.75)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generation_is_bit_identical(tmp_path):
    cfg = CorpusConfig(**TINY)
    one = generate_corpus(tmp_path / "one", cfg, workers=1).parent
    two = generate_corpus(tmp_path / "two", cfg, workers=2).parent  # process count does not matter
    files = _files(one)
    assert len(files) == TINY["size"] + 3  # audio + manifest, truth, marker
    assert files == _files(two)
    other = generate_corpus(tmp_path / "other", replace(cfg, seed=2), workers=1).parent
    assert _files(other)["manifest.jsonl"] != files["manifest.jsonl"]


def test_manifest_rows(small_corpus, small_cfg):
    rows = [json.loads(line) for line in small_corpus.read_text().splitlines()]
    assert len(rows) == small_cfg.size
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "path", "split", "system", "dataset", "modality", *recipe.ASPECTS}
        assert r["split"] in SPLITS
        assert r["modality"] in recipe.MODALITIES
        for aspect in recipe.ASPECTS:
            assert len(r[aspect]) == recipe.N_RATERS and all(
                isinstance(v, int) and 1 <= v <= 10 for v in r[aspect]
            )
        audio, sr = sf.read(small_corpus.parent / r["path"])
        assert sr == small_cfg.sample_rate and audio.ndim == 1
        seconds = len(audio) / sr
        assert seconds % recipe.DURATION_STEP == pytest.approx(0) and 0.5 <= seconds <= 1.5
        assert np.abs(audio).max() > 0.05 and np.isfinite(audio).all()
    assert {r["split"] for r in rows} == set(SPLITS)
    for split, dataset in recipe.OOD_SPLITS.items():
        assert {r["dataset"] for r in rows if r["split"] == split} == {dataset}
        assert dataset not in {r["dataset"] for r in rows if r["split"] != split}


def test_hidden_truth_is_not_in_the_manifest(small_corpus):
    text = small_corpus.read_text()
    assert "family" not in text and not any(f in text for f in recipe.FAMILY_EXPRESSIVENESS)
    clips = load_corpus(small_corpus.parent)
    assert set(clips["family"]) <= set(recipe.FAMILY_EXPRESSIVENESS)
    plan = plan_corpus(3, 48, 1.0)
    assert np.allclose(clips["PQ"], plan["PQ"]) and np.allclose(clips["CE_true"], plan["CE_true"], atol=1e-6)


def test_project_validator_accepts_the_corpus(small_cfg, small_corpus, tmp_path):
    from data_modules.manifest import load_table
    from data_modules.validate import validate_manifest

    c = small_cfg
    cfg = load_config(
        None,
        [
            "data.corpus.enabled=true",
            f"data.corpus.dir={c.dir}",
            f"data.corpus.seed={c.seed}",
            f"data.corpus.size={c.size}",
            f"data.corpus.sample_rate={c.sample_rate}",
            f"data.corpus.seconds={c.seconds}",
            f"data.cache_dir={tmp_path}/cache",
            "data.num_workers=0",
        ],
    ).data
    report = validate_manifest(cfg, c.sample_rate, progress=False)
    assert report.ok and report.problems == [], report.problems
    assert report.rows == c.size and set(report.splits) == set(SPLITS)
    table = load_table(cfg)  # the same corpus folder, not a new one
    assert Path(table["path"][0]).parent.parent == small_corpus.parent
    assert np.allclose(table["PQ"], table["PQ_ratings"].map(np.mean))
    assert "modality" in table.columns and "family" not in table.columns


def test_ensure_corpus_reuses_a_finished_corpus(small_cfg, small_corpus):
    assert small_corpus.parent.name == f"corpus-{settings_hash(small_cfg)}"
    stamp = small_corpus.stat().st_mtime_ns
    assert ensure_corpus(small_cfg) == small_corpus and small_corpus.stat().st_mtime_ns == stamp
    # settings that change the output change the folder; `enabled` and `dir` do not
    assert settings_hash(replace(small_cfg, size=49)) != settings_hash(small_cfg)
    assert settings_hash(replace(small_cfg, enabled=True, dir="/elsewhere")) == settings_hash(small_cfg)
    assert not list(Path(small_cfg.dir).glob(".*.tmp-*"))  # no temporary folder left behind


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="remove it first"):
        generate_corpus(tmp_path / "x", CorpusConfig(**TINY))
    with pytest.raises(ValueError, match="sample_rate"):
        generate_corpus(tmp_path / "y", CorpusConfig(sample_rate=4000))


def _ensure(args):
    folder, delay = args
    time.sleep(delay)
    return str(ensure_corpus(CorpusConfig(dir=folder, **TINY), workers=1))


@pytest.mark.slow  # three processes
def test_concurrent_callers_get_one_corpus(tmp_path):
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        paths = pool.map(_ensure, [(str(tmp_path), d) for d in (0.0, 0.0, 0.05)])
    assert len(set(paths)) == 1
    folder = Path(paths[0]).parent
    assert is_complete(folder) and (folder / TRUTH).is_file() and (folder / MARKER).is_file()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [folder.name]


@pytest.mark.slow
def test_default_corpus(tmp_path):
    """The default size: generation time (printed; the issue asks for under a minute on 2 cores) and the
    report read back from the written files equals the plan's."""
    cfg = CorpusConfig(dir=str(tmp_path))
    start = time.perf_counter()
    manifest = ensure_corpus(cfg)
    elapsed = time.perf_counter() - start
    print(f"\ndefault corpus ({cfg.size} clips, {cfg.seconds} s, {cfg.sample_rate} Hz): {elapsed:.1f} s")
    # no time bound here: performance targets live in benchmarks (docs/corpus.md has the measured time)
    written = shortcut_table(load_corpus(manifest.parent))
    planned = shortcut_table(plan_corpus(cfg.seed, cfg.size, cfg.seconds))
    assert np.allclose(written.to_numpy(), planned.to_numpy(), atol=1e-9)


def _corpus_data_cfg(small_cfg, tmp_path, *overrides):
    c = small_cfg
    return load_config(
        Path(__file__).resolve().parents[3] / "experiments" / "quickstart.yaml",
        [
            f"data.corpus.dir={c.dir}",
            f"data.corpus.seed={c.seed}",
            f"data.corpus.size={c.size}",
            f"data.corpus.sample_rate={c.sample_rate}",
            f"data.corpus.seconds={c.seconds}",
            f"data.cache_dir={tmp_path}/cache",
            *overrides,
        ],
    ).data


def test_quickstart_evaluates_val_ood(small_cfg, small_corpus, tmp_path):
    from data_modules.datamodule import AQADataModule
    from data_modules.manifest import load_table

    cfg = _corpus_data_cfg(small_cfg, tmp_path)
    table = load_table(cfg)
    dm = AQADataModule(cfg, table, small_cfg.sample_rate, list(cfg.aspects))
    assert dm.eval_split_names == ["val_ood", "test", "test_ood"]
    assert set(table.loc[table["split"] == "val_ood", "dataset"]) == {recipe.HELDOUT_DATASET}


def test_leave_one_source_out_on_the_corpus(small_cfg, small_corpus, tmp_path):
    from data_modules.manifest import load_table

    table = load_table(_corpus_data_cfg(small_cfg, tmp_path, "data.heldout_sources=['aurora']"))
    assert set(table.loc[table["split"] == "val_ood", "dataset"]) == {recipe.HELDOUT_DATASET, "aurora"}
    assert "aurora" not in set(table.loc[table["split"].isin(["train", "val"]), "dataset"])
    assert "aurora" in set(table.loc[table["split"] == "test", "dataset"])  # its test rows stay in test
