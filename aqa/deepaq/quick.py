"""`aqa deepaq-quick [--out DIR]`: the embedded DeePAQ run on 2 CPU cores.

Clean music clips from the corpus synthesiser (before any degradation) -> surrogate data (Opus/MP3/AAC at
16/32/64/128 kbps, ViSQOL labels) split by reference -> RnC training of the tiny encoder -> cubic/MLP mapping
fitted on the val references' labels -> SRCC/PCC against ViSQOL on the coded clips of held-out (test)
references, beside a MOS-regression model (same architecture and labels), the same distance before any
training, and a condition-lookup reference (each codec/bitrate's mean train ViSQOL: what knowing only the
coding condition scores).
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from aqa.metrics.scores import pair_metrics

RATE = 48000


def write_clean(out: Path, refs: int, seconds: float, seed: int) -> Path:
    """Clean music clips (synth.render, no degradation) and a manifest with a split per reference."""
    from data_modules.corpus.synth import render  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    n_test, n_val = max(2, refs // 4), max(2, refs // 6)
    splits = ["test"] * n_test + ["val"] * n_val + ["train"] * (refs - n_test - n_val)
    rows = []
    for i, split in enumerate(splits):
        path = out / f"music{i:02d}.wav"
        if not path.is_file():
            rng = np.random.default_rng([seed, 9, i])
            x = render(
                "music",
                rng,
                int(seconds * RATE),
                RATE,
                int(rng.integers(1, 4)),
                rng.uniform(0.3, 1),
                rng.uniform(0.2, 1),
            )
            sf.write(path, 0.7 * x / (np.abs(x).max() + 1e-9), RATE, subtype="FLOAT")
        rows.append({"id": path.stem, "path": str(path), "split": split})
    manifest = out / "clean.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def quick(
    out: Path, refs: int, seconds: float, epochs: int, workers: int, seed: int, extra: list[str]
) -> dict:
    from aqa.config import load_config  # noqa: PLC0415
    from aqa.deepaq.evaluate import run as deepaq_eval  # noqa: PLC0415
    from aqa.training.predict import predict  # noqa: PLC0415
    from aqa.training.train import train  # noqa: PLC0415
    from data_modules.surrogate.build import build  # noqa: PLC0415

    times = {}
    t = time.time()
    manifest, speed = build(
        write_clean(out / "clean", refs, seconds, seed),
        out / "surrogate",
        bitrates=(16, 32, 64, 128),
        workers=workers,
    )
    times["surrogate_s"] = round(time.time() - t, 1)
    yaml = Path(__file__).resolve().parents[2] / "experiments" / "deepaq_quick.yaml"
    common = [f"data.manifest={manifest}", f"trainer.max_epochs={epochs}", f"seed={seed}"] + list(extra)
    runs = {}
    for name, overrides in {
        "deepaq": [],
        "mos": [
            "loss.mos_weight=1",
            "loss.rnc_weight=0",
            "checkpoint.monitor=val/visqol/utt_srcc",
            "checkpoint.mode=max",
        ],
    }.items():
        t = time.time()
        cfg = load_config(yaml, common + overrides + [f"run.dir={out / 'runs' / name}"])
        runs[name] = train(cfg)["run/best_checkpoint"]
        times[f"train_{name}_s"] = round(time.time() - t, 1)
    t = time.time()
    metrics, _ = deepaq_eval(runs["deepaq"], manifest, extra, fit_split="val")
    untrained, _ = deepaq_eval(_untrained(runs["deepaq"], extra, seed), manifest, extra, fit_split="val")
    table = pd.read_csv(manifest)
    test = table[(table["split"] == "test") & (table["codec"] != "clean")]
    preds = {r["id"]: r["visqol"] for r in predict(runs["mos"], _listing(test, out), extra)}
    mos_pred = np.array([preds[i] for i in test["id"]])
    train_rows = table[table["split"] == "train"]
    lookup = train_rows.groupby("system")["visqol"].mean()
    cond_pred = test["system"].map(lookup).fillna(train_rows["visqol"].mean()).to_numpy()
    times["score_s"] = round(time.time() - t, 1)
    y = test["visqol"].to_numpy()
    result = {
        "deepaq_raw": {k: metrics[f"test/raw/utt_{k}"] for k in ("lcc", "srcc", "ktau")},
        "deepaq_cubic": {k: metrics[f"test/cubic/utt_{k}"] for k in ("lcc", "srcc", "ktau", "mse")},
        "deepaq_mlp": {k: metrics[f"test/mlp/utt_{k}"] for k in ("lcc", "srcc", "ktau", "mse")},
        "untrained_raw": {k: untrained[f"test/raw/utt_{k}"] for k in ("lcc", "srcc", "ktau")},
        "mos_regression": pair_metrics(mos_pred, y),
        "condition_lookup": pair_metrics(cond_pred, y),
    }
    return {"test_clips": len(test), "surrogate_speed": speed, "seconds": times, "test_utt": result}


def _untrained(checkpoint, overrides: list[str], seed: int):
    """The same architecture before training (tiny random encoder, seeded projection): what the distance
    alone gives, without any RnC learning."""
    import lightning as L  # noqa: PLC0415

    from aqa.model.module import AQAModule  # noqa: PLC0415
    from aqa.model.sections import module_sections  # noqa: PLC0415
    from aqa.training.checkpoint import load_checkpoint  # noqa: PLC0415

    _, cfg, sample_rate = load_checkpoint(checkpoint, overrides)
    L.seed_everything(seed, verbose=False)
    module = AQAModule(**module_sections(cfg), num_domains={}, target_mean=[0.0], target_std=[1.0]).eval()
    return module, cfg, sample_rate


def _listing(rows: pd.DataFrame, out: Path) -> Path:
    path = out / "test_coded.csv"
    rows[["id", "path"]].to_csv(path, index=False)
    return path
