"""`aqa generate` and `python -m data_modules.corpus.report`."""

from aqa.cli import main as aqa
from data_modules.corpus.report import main as report

ARGS = ["--size", "12", "--seconds", "0.75", "--sample-rate", "8000", "--seed", "4", "--workers", "1"]


def test_generate_with_report(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert aqa(["generate", "--out", str(out), *ARGS, "--report"]) == 0
    text = capsys.readouterr().out
    assert f"corpus: {out}/manifest.jsonl" in text
    assert "train|dataset" in text and "test_ood|family" in text
    assert "clips per split:   train=" in text
    assert (out / "truth.csv").is_file() and len(list((out / "audio").glob("*.wav"))) == 12
    # a second call finds the finished corpus; another size in the same folder is refused
    assert aqa(["generate", "--out", str(out), *ARGS]) == 0
    assert aqa(["generate", "--out", str(out), *ARGS, "--size", "13"]) == 1
    assert "remove it first" in capsys.readouterr().err


def test_report_module_with_probe(small_corpus, capsys):
    assert report([str(small_corpus.parent), "--probe"]) == 0
    text = capsys.readouterr().out
    assert "train R2 true" in text and "probe acc" in text and "kmeans6 AMI" in text
