"""`aqa pretrain SOURCE --out DIR`: argument parsing only (torch is imported after --help)."""

import argparse
from dataclasses import fields, replace

from aqa.pretrain.settings import PretrainSettings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aqa pretrain",
        description="Self-supervised pretraining of the MERT-architecture encoder on unlabeled audio: masked "
        "prediction of k-means codes of log-mel frames (HuBERT iteration 1) plus masked log-mel reconstruction. "
        "Writes a Hugging Face folder that HubertModel.from_pretrained loads like MERT. Resumes from "
        "OUT.resume.pt when a run with the same audio and settings was interrupted.",
    )
    p.add_argument(
        "source", help="folder of audio (searched recursively) or a .jsonl/.csv manifest with `path`"
    )
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument(
        "--from",
        dest="start",
        default=None,
        help="continue pretraining this HF folder or id (e.g. MERT-v1-95M)",
    )
    p.add_argument(
        "--stop-after", type=int, default=None, help="stop after this step, keeping the resume state"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    defaults = PretrainSettings()
    for f in fields(PretrainSettings):
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=None,
            help=f"default {getattr(defaults, f.name)}",
        )
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    chosen = {
        f.name: getattr(args, f.name) for f in fields(PretrainSettings) if getattr(args, f.name) is not None
    }
    settings = replace(PretrainSettings(), **chosen)
    from aqa.pretrain.run import pretrain

    summary = pretrain(
        args.source,
        args.out,
        settings,
        start=args.start,
        stop_after=args.stop_after,
        progress=not args.no_progress,
    )
    ce, mse = summary["losses"][-1] if summary["losses"] else (float("nan"), float("nan"))
    where = args.out if summary["steps"] >= settings.steps else f"{args.out}.resume.pt (stopped)"
    print(
        f"pretrained {summary['steps']} steps on {summary['clips']} clips ({len(summary['skipped'])} skipped): "
        f"final code loss {ce:.3f}, mel loss {mse:.3f} -> {where}"
    )
    return 0
