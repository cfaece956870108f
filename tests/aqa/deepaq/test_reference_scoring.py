"""DeePAQ end to end on a tiny surrogate-like manifest (labels written, not measured: no ViSQOL here):
RnC training of the deepaq pooling, then full- and mismatched-reference scores through `aqa predict`."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aqa.config import load_config
from aqa.deepaq.evaluate import run as deepaq_eval
from aqa.deepaq.evaluate import save_with_mappings
from aqa.deepaq.mapping import apply_mapping
from aqa.deepaq.score import embed_paths
from aqa.training.checkpoint import load_checkpoint
from aqa.training.predict import main as predict_main
from aqa.training.train import train

SR = 24000


def _write_manifest(folder):
    """4 references (2 train, 1 val, 1 test); each with 3 'coded' versions: low-passed + noise by bitrate."""
    from scipy import signal

    rng = np.random.default_rng(0)
    rows = []
    for r, split in enumerate(["train", "train", "val", "test"]):
        t = np.arange(SR) / SR
        clean = 0.3 * np.sin(2 * np.pi * (200 + 50 * r) * t * (1 + 0.1 * t)) + 0.05 * rng.standard_normal(SR)
        ref = folder / f"ref{r}.wav"
        sf.write(ref, clean, SR)
        rows.append({"id": f"ref{r}", "path": ref.name, "reference": ref.name, "codec": "clean"})
        rows[-1] |= {"bitrate": math.inf, "visqol": 4.73, "split": split, "system": "clean"}
        for k, kbps in enumerate([16, 64, 128]):
            coded = signal.lfilter(*signal.butter(4, [2000, 5000, 9000][k], fs=SR), clean)
            coded = coded + 0.02 * (3 - k) * rng.standard_normal(SR)
            path = folder / f"ref{r}_{kbps}.wav"
            sf.write(path, coded, SR)
            rows.append({"id": path.stem, "path": path.name, "reference": ref.name, "codec": "aac"})
            rows[-1] |= {
                "bitrate": kbps,
                "visqol": 2.0 + k + 0.1 * r,
                "split": split,
                "system": f"aac_{kbps}",
            }
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


@pytest.fixture(scope="module")
def deepaq_run(tmp_path_factory, tiny_overrides):
    folder = tmp_path_factory.mktemp("deepaq")
    manifest = _write_manifest(folder)
    cfg = load_config(
        "experiments/deepaq_quick.yaml",
        [
            *tiny_overrides,
            f"data.manifest={manifest}",
            f"run.dir={folder / 'run'}",
            "data.batch_size=8",
            "data.max_seconds=1.0",
            "data.eval_window_seconds=1.0",
            "trainer.max_epochs=2",
            "trainer.log_every_n_steps=1",
        ],
    )
    metrics = train(cfg)
    return manifest, metrics, tiny_overrides


def test_rnc_training_logs_its_loss(deepaq_run):
    _, metrics, _ = deepaq_run
    assert math.isfinite(metrics["val/rnc_loss"]) and metrics["val/rnc_loss"] > 0


def _predict(capsys, argv):
    capsys.readouterr()
    assert predict_main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_full_and_mismatched_reference_scores_through_predict(deepaq_run, tmp_path, capsys):
    manifest, metrics, overrides = deepaq_run
    ckpt = metrics["run/best_checkpoint"]
    rows = _predict(capsys, [ckpt, str(manifest), *overrides, "--reference-column", "reference"])
    table = pd.read_csv(manifest)
    assert [r["id"] for r in rows] == table["id"].tolist()
    dist = {r["id"]: r["distance"] for r in rows}
    assert all(dist[f"ref{r}"] == 0.0 for r in range(4))  # a clean clip against itself
    assert all(dist[f"ref{r}_16"] > 0 for r in range(4))

    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    for r in (0, 1):
        (clean_dir / f"ref{r}.wav").write_bytes((manifest.parent / f"ref{r}.wav").read_bytes())
    mismatched = _predict(capsys, [ckpt, str(manifest), *overrides, "--references", str(clean_dir)])
    module, cfg, sr = load_checkpoint(ckpt, overrides)
    paths = [str((manifest.parent / p).resolve()) for p in table["path"]]
    emb = embed_paths(module, cfg, sr, paths)
    centre = embed_paths(module, cfg, sr, sorted(str(p) for p in clean_dir.glob("*.wav"))).mean(0)
    expected = np.linalg.norm(emb - centre, axis=1)
    assert np.allclose([r["distance"] for r in mismatched], expected, atol=1e-5)


def test_mapping_saved_with_the_model_is_applied_by_predict(deepaq_run, tmp_path, capsys):
    manifest, metrics, overrides = deepaq_run
    ckpt = metrics["run/best_checkpoint"]
    scores, maps = deepaq_eval(ckpt, manifest, overrides, fit_split="train")
    assert {"test/raw/utt_srcc", "test/cubic/utt_lcc", "val/mlp/sys_mse"} <= set(scores)
    mapped = save_with_mappings(ckpt, maps, tmp_path / "mapped.ckpt")
    rows = _predict(capsys, [str(mapped), str(manifest), *overrides, "--reference-column", "reference"])
    dist = np.array([r["distance"] for r in rows])
    assert np.allclose([r["mos_cubic"] for r in rows], apply_mapping(maps["cubic"], dist), atol=1e-3)
    assert np.allclose([r["mos_mlp"] for r in rows], apply_mapping(maps["mlp"], dist), atol=1e-3)


def test_reference_column_missing_is_a_clear_error(deepaq_run, capsys):
    manifest, metrics, overrides = deepaq_run
    with pytest.raises(ValueError, match="no reference column 'ref'"):
        _predict(
            capsys, [metrics["run/best_checkpoint"], str(manifest), *overrides, "--reference-column", "ref"]
        )


@pytest.mark.slow
def test_rnc_composes_with_mos_regression_and_a_domain_adversary(tmp_path, tiny_overrides):
    manifest = _write_manifest(tmp_path)
    cfg = load_config(
        "experiments/deepaq_quick.yaml",
        [
            *tiny_overrides,
            f"data.manifest={manifest}",
            f"run.dir={tmp_path / 'run'}",
            "data.batch_size=8",
            "data.max_seconds=1.0",
            "data.eval_window_seconds=1.0",
            "trainer.max_epochs=1",
            "trainer.log_every_n_steps=1",
            "loss.mos_weight=1",
            "domain.definer=metadata",
            "domain.definer.columns=[codec]",
        ],
    )
    train(cfg)
    logged = pd.read_csv(next((tmp_path / "run" / "csv").rglob("metrics.csv")))
    for key in ("train/rnc_loss", "train/visqol/mos_loss", "train/visqol/domain_loss", "val/rnc_loss"):
        assert logged[key].notna().any(), key
