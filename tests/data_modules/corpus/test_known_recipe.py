"""The known-answer recipe: design gates at several corpus seeds, the files it writes, the oracle manifest."""

import json
from dataclasses import replace

import numpy as np
import pytest

from aqa.config.load import load_config
from data_modules.corpus import known
from data_modules.corpus.config import CorpusConfig
from data_modules.corpus.gates import GATES, failed_gates, gate_values, load_known, main
from data_modules.corpus.generate import ANSWERS, ORACLE_MANIFEST, ensure_corpus, settings, settings_hash
from data_modules.corpus.known import NEUTRAL_SPLITS, plan_known

SMALL = dict(seed=2, size=60, sample_rate=8000, seconds=1.5, recipe="known")  # every split, ~2 s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Manifest path of a small known-answer corpus."""
    return ensure_corpus(CorpusConfig(dir=str(tmp_path_factory.mktemp("known")), **SMALL), workers=1)


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_design_gates_pass_at_every_corpus_seed(seed):
    values = gate_values(plan_known(seed, 500, 2.5))  # the experiment's size; ratings need no audio
    assert failed_gates(values) == []


def test_gates_fail_without_the_planted_offsets():
    clips = plan_known(0, 500, 2.5)
    for a in ("PQ", "CE"):  # the oracle's neutral ratings in place of the offset ones
        clips[a] = [np.mean(r) for r in clips[f"{a}_oracle_ratings"]]
    failed = " ".join(failed_gates(gate_values(clips)))
    assert "PQ offset" in failed and "CE offset" in failed and "noise ceiling" not in failed


def test_offsets_are_in_the_ratings_only():
    clips = plan_known(1, 500, 2.5)
    rated = ~clips["split"].isin(NEUTRAL_SPLITS)
    for a in ("PQ", "PC", "CE", "CU"):
        same = np.array(
            [np.array_equal(x, y) for x, y in zip(clips[f"{a}_ratings"], clips[f"{a}_oracle_ratings"])]
        )
        assert same[~rated].all()  # neutral splits: the oracle's neutral test itself
        assert same[rated].all() == (a in ("PC", "CU"))  # offsets on PQ and CE only
    assert set(clips.loc[clips["split"] == "train", "dataset"]) == set(known.SOURCES)
    for split, sources in known.OOD_SOURCES.items():
        assert set(clips.loc[clips["split"] == split, "dataset"]) == set(sources)
    for split in ("val_mixed", "test_mixed"):  # mixed: every train source, unseen systems
        rows = clips[clips["split"] == split]
        assert set(rows["dataset"]) == set(known.SOURCES)
        assert not set(rows["system"]) & set(clips.loc[clips["split"] == "train", "system"])


def test_corpus_files_answers_and_oracle_manifest(corpus, capsys):
    folder = corpus.parent
    assert json.loads((folder / ANSWERS).read_text()) == known.ANSWERS
    assert set(known.ANSWERS.values()) == {"dataset", "clusters", "none"}
    rated, oracle = _rows(corpus), _rows(folder / ORACLE_MANIFEST)
    assert [r["id"] for r in rated] == [r["id"] for r in oracle] and len(rated) == SMALL["size"]
    for r, o in zip(rated, oracle):
        assert all(r[f"{a}_true"] == o[f"{a}_true"] for a in known.ANSWERS)
        if r["split"] in NEUTRAL_SPLITS:
            assert r == o
    assert "family" not in corpus.read_text() and not any(f in corpus.read_text() for f in known.FAMILIES)
    # the gates of the written corpus are those of its plan
    assert gate_values(load_known(folder)) == pytest.approx(
        gate_values(plan_known(SMALL["seed"], SMALL["size"], SMALL["seconds"]))
    )
    code = main([str(folder)])  # prints every gate; exit 1 when one fails (a 60-clip corpus may)
    printed = capsys.readouterr().out
    assert all(name in printed for name in GATES) and code == (1 if "FAIL" in printed else 0)


def test_the_data_stage_reads_the_known_and_the_oracle_manifest(corpus, tmp_path):
    from data_modules.manifest import load_table

    base = [f"data.corpus.{k}={v}" for k, v in SMALL.items()]
    common = [
        "data.corpus.enabled=true",
        f"data.corpus.dir={corpus.parent.parent}",
        f"data.cache_dir={tmp_path}",
    ]
    table = load_table(load_config(None, [*common, *base]).data)
    oracle = load_table(load_config(None, [*common, *base, "data.corpus.oracle=true"]).data)
    assert len(table) == len(oracle) == SMALL["size"] and (table["id"] == oracle["id"]).all()
    neutral = table["split"].isin(NEUTRAL_SPLITS).to_numpy()
    assert np.allclose(table["PQ"][neutral], oracle["PQ"][neutral])
    assert not np.allclose(table["PQ"][~neutral], oracle["PQ"][~neutral])
    assert np.allclose(table["PQ_true"], oracle["PQ_true"])  # the truth columns for an oracle on truth


def test_settings_keep_the_default_cache_and_refuse_a_default_oracle(tmp_path):
    default = CorpusConfig()
    assert "recipe" not in settings(default)  # recipe v3's cache folders are still found
    knownc = replace(default, recipe="known")
    assert settings_hash(knownc) != settings_hash(default)
    assert settings_hash(replace(knownc, oracle=True)) == settings_hash(knownc)  # one folder, two manifests
    with pytest.raises(ValueError, match="recipe=known"):
        ensure_corpus(replace(default, dir=str(tmp_path), oracle=True))
    with pytest.raises(ValueError, match="default|known"):
        ensure_corpus(replace(default, dir=str(tmp_path), recipe="nope"))


def test_aqa_generate_writes_a_known_corpus_and_prints_its_gates(tmp_path, capsys):
    from data_modules.corpus.cli import main as generate

    argv = ["--out", str(tmp_path / "k"), "--size", "60", "--sample-rate", "8000", "--seconds", "1.5"]
    assert generate([*argv, "--seed", "2", "--recipe", "known", "--report"]) == 0
    printed = capsys.readouterr().out
    assert "design gates" in printed and (tmp_path / "k" / ANSWERS).is_file()
