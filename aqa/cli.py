"""`aqa` command line: one subcommand per pipeline step, each implemented in its own stage's module."""

import importlib
import os
import sys
import traceback
import warnings

# subcommand -> (module:function taking argv, one-line help). Each function parses its own arguments.
COMMANDS = {
    "train": ("aqa.training.train:main", "train a model: aqa train EXPERIMENT.yaml [key=value ...]"),
    "eval": ("aqa.training.evaluate:main", "evaluate a checkpoint: aqa eval CHECKPOINT [key=value ...]"),
    "predict": ("aqa.training.predict:main", "score files: aqa predict CHECKPOINT in.jsonl|in.csv|dir"),
    "export": ("aqa.training.export:main", "deployable model: aqa export CHECKPOINT --out DIR [--merged]"),
    "prepare": ("aqa.data_commands:prepare", "build the audio cache: aqa prepare EXPERIMENT.yaml"),
    "validate": (
        "aqa.data_commands:validate",
        "check a manifest and its audio: aqa validate EXPERIMENT.yaml",
    ),
    "domains": ("aqa.definers.explain:main", "explain domain definitions: aqa domains EXPERIMENT.yaml"),
    "sweep": ("aqa.sweep.offline:main", "run a sweep YAML offline: aqa sweep SWEEP.yaml [--count N]"),
    "select": (
        "aqa.sweep.select:main",
        "definer per aspect, every protocol, paired vs ERM: aqa select SWEEP_DIR|entity/project/id",
    ),
    "final": ("aqa.sweep.final:main", "train + measure the selected model: aqa final SWEEP_DIR [--seeds]"),
    "pretrain": (
        "aqa.pretrain.cli:main",
        "self-supervised encoder pretraining: aqa pretrain AUDIO_DIR|manifest --out DIR",
    ),
    "generate": ("data_modules.corpus.cli:main", "write the generated MOS corpus: aqa generate [--out DIR]"),
    "quickstart": ("aqa.quickstart:main", "generate corpus, compare definers, select, print tables"),
    "surrogate": (
        "aqa.deepaq.cli:surrogate",
        "code clean clips, ViSQOL labels: aqa surrogate IN --out DIR",
    ),
    "deepaq-eval": (
        "aqa.deepaq.cli:deepaq_eval",
        "fit/score reference distances: aqa deepaq-eval CKPT manifest",
    ),
    "deepaq-quick": (
        "aqa.deepaq.cli:deepaq_quick",
        "embedded DeePAQ run: surrogate data, RnC, mapping, SRCC",
    ),
}


def _usage() -> str:
    lines = ["usage: aqa [--version] [--debug] COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += [
        "",
        "Input errors (config, manifest, data) print their message alone and exit with status 2;",
        "--debug (or AQA_DEBUG=1) shows their traceback too. Each command's --help lists its arguments.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("AQA_DEBUG", "") not in ("", "0")
    if argv and argv[0] == "--debug":
        debug, argv = True, argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from aqa import __version__

        print(f"aqa {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"aqa: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message=".*treespec.*")  # lightning's pytree shim on torch >= 2.10
    from data_modules.errors import USER_ERROR_EXIT, UserError

    module_name, func_name = COMMANDS[argv[0]][0].split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return int(func(argv[1:]) or 0)
    except UserError as err:
        if debug:
            traceback.print_exc()
        print(f"aqa {argv[0]}: error: {err}", file=sys.stderr)
        return USER_ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
