"""`aqa domains EXPERIMENT.yaml [key=value ...]`: what each domain definition captures, and why one may win.

For each definer: number and train sizes of the domains, agreement with dataset IDs (ARI / NMI), and the
share of each aspect's train MOS variance the domain label explains (eta^2: the shortcut a model could
take). Saves a 2-D UMAP plot of the features (`domain.definer.features`) coloured by each domain definition and each aspect's MOS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aqa.config.train import RUNS_ROOT

if TYPE_CHECKING:  # pandas only in annotations: `aqa domains --help` stays fast
    import pandas as pd


log = logging.getLogger(__name__)

PLOT_ROWS = 3000  # the UMAP plot uses at most this many (seeded) train rows


def describe(
    spec, labels: np.ndarray, names: list[str], table: pd.DataFrame, train: np.ndarray, aspects
) -> dict:
    """Numbers of one domain definition (labels (N,) of all rows; statistics over the train rows)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from data_modules.stats import eta_squared

    tr = labels[train]
    known = tr >= 0
    sizes = np.bincount(tr[known], minlength=len(names)).tolist()
    dataset = table["dataset"].astype(str).to_numpy()[train][known] if "dataset" in table else None
    row = {
        "definer": spec.name,
        "config": dataclasses.asdict(spec),
        "k": len(names),
        "sizes": dict(zip(names, sizes)),
        "unknown_other_splits": int((labels[~train] < 0).sum()),
        "ari_dataset": None if dataset is None else float(adjusted_rand_score(dataset, tr[known])),
        "nmi_dataset": None if dataset is None else float(normalized_mutual_info_score(dataset, tr[known])),
        "eta2": {},
    }
    for aspect in aspects:
        y = table[aspect].to_numpy(np.float64)[train][known]
        row["eta2"][aspect] = eta_squared(y, tr[known])
    return row


def explain(
    cfg, table: pd.DataFrame, sample_rate: int, compare=(), out_dir=None, plot=True, wandb=False
) -> list[dict]:
    """Fit each distinct definer (the configured ones per aspect, plus `compare` names with the settings of
    `domain.definer`) on the train rows; print the table; save the plot (and explain.json) in `out_dir`."""
    from aqa.definers.labels import fit_definer, needed_features, train_mask  # not for `--help`
    from aqa.definers.registry import definer_class, definer_label
    from aqa.definers.resolve import as_definer_config, check_definer, definer_key, resolve_definers

    aspects = list(cfg.data.aspects)
    resolved = resolve_definers(cfg.domain, aspects, seed=cfg.seed)
    base = as_definer_config(cfg.domain.definer, seed=cfg.seed)
    specs = {definer_key(s): s for s in resolved.values()}
    for item in compare:  # `name` or `name:k`
        name, _, k = item.partition(":")
        spec = check_definer(dataclasses.replace(base, name=name, k=int(k) if k else base.k), "--compare")
        specs.setdefault(definer_key(spec), spec)
    train = train_mask(cfg.data.train_split, table)
    from aqa.features import FeatureSettings, compute_features

    needed = needed_features(specs.values()) | ({str(base.features)} if plot else set())
    settings = FeatureSettings.from_config(cfg)
    features = {spec: compute_features(settings, table, sample_rate, spec) for spec in sorted(needed)}
    rows, all_labels = [], {}
    for key, spec in specs.items():
        definer, labels = fit_definer(
            spec, table, train, features.get(definer_class(spec.name).features(spec))
        )
        row = describe(spec, labels, definer.names, table, train, aspects)
        row["label"] = definer_label(spec)
        row["aspects"] = [a for a, s in resolved.items() if definer_key(s) == key]
        row["k_scores"] = dict(getattr(definer, "scores", {}))  # auto-K: silhouette (kmeans) or -BIC (gmm)
        rows.append(row)
        all_labels[row["label"]] = (labels, definer.names)
    print_table(rows, aspects)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "explain.json").write_text(json.dumps(rows, indent=1))
        if plot:
            plotted = features[str(base.features)]
            plot_umap(plotted, all_labels, table, train, aspects, out / "domains_umap.png", cfg)
        from aqa.wandb_io import log_report

        log_report(
            "domains",
            out,
            {"domains/umap": out / "domains_umap.png"},
            {"domains/definers": rows},
            [out / "explain.json"],
            wandb,
            cfg.logger.project,
            cfg.logger.entity,
        )
    return rows


def print_table(rows: list[dict], aspects: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="domain definitions (statistics on the train split)")
    for column in ["definer", "used by", "K", "train sizes", "unknown (val/test)", "ARI ds", "NMI ds"]:
        table.add_column(column)
    for aspect in aspects:
        table.add_column(f"eta2 {aspect}", justify="right")

    def num(v):
        return "-" if v is None else f"{v:.3f}"

    for row in rows:
        sizes = list(row["sizes"].values())
        shown = " ".join(str(s) for s in sizes[:8]) + (" ..." if len(sizes) > 8 else "")
        cells = [
            row["label"],
            ",".join(row["aspects"]) or "-",
            str(row["k"]),
            shown,
            str(row["unknown_other_splits"]),
        ]
        cells += [num(row["ari_dataset"]), num(row["nmi_dataset"])] + [num(row["eta2"][a]) for a in aspects]
        table.add_row(*cells)
    console = Console()
    (console if console.is_terminal else Console(width=200)).print(table)  # files/pipes: no truncation
    print(
        "eta2 = share of the aspect's train MOS variance explained by the domain label (the shortcut available)."
    )
    for row in rows:
        if row["k_scores"]:
            what = "silhouette" if row["definer"] == "kmeans" else "-BIC"
            scores = ", ".join(f"{k}: {v:.4g}" for k, v in row["k_scores"].items())
            print(f"{row['label']}: {what} by K {{{scores}}} -> K={row['k']}")


def plot_umap(features, all_labels: dict, table, train, aspects, path: Path, cfg) -> Path:
    """2-D UMAP of (a seeded sample of) the train embeddings: one panel per definer and per aspect's MOS.

    all_labels: {definer label: ((N,) labels, domain names)}; features (N, H)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aqa.definers.reduce import import_umap

    index = np.flatnonzero(train & np.isfinite(features).all(1))
    rng = np.random.default_rng(int(cfg.seed))
    if len(index) > PLOT_ROWS:
        index = np.sort(rng.choice(index, PLOT_ROWS, replace=False))
    z = features[index]
    z = (z - z.mean(0)) / np.where(z.std(0) > 1e-8, z.std(0), 1.0)
    umap = import_umap()
    xy = umap.UMAP(n_components=2, n_neighbors=max(2, min(15, len(z) - 1)), random_state=0).fit_transform(z)
    panels = [(f"domain: {label}", labels[index], names) for label, (labels, names) in all_labels.items()]
    panels += [(f"MOS: {a}", table[a].to_numpy(np.float64)[index], None) for a in aspects]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4.5 * rows), squeeze=False)
    palette = plt.get_cmap("tab10")
    for ax, (title, values, names) in zip(axes.flat, panels):
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if names is None:  # MOS: continuous colour
            fig.colorbar(ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap="viridis", s=4), ax=ax)
            continue
        colours = [palette(v % 10) if v >= 0 else (0.6, 0.6, 0.6, 1.0) for v in values]
        ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=4)
        if len(names) <= 10:
            for i, name in enumerate(names):
                ax.scatter([], [], color=palette(i), s=12, label=name)
            ax.legend(fontsize=7, loc="best", markerscale=1.5)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa domains", description=__doc__.split("\n")[0])
    parser.add_argument("experiment", help="experiment YAML")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. domain.definer=kmeans")
    parser.add_argument(
        "--compare",
        default="",
        help="definers to add, with domain.definer's settings: name or name:k, e.g. dataset,random:4,kmeans",
    )
    parser.add_argument("--out", default=None, help="folder for domains_umap.png and explain.json")
    parser.add_argument(
        "--no-plot", action="store_true", help="skip embeddings/UMAP unless a definer needs them"
    )
    parser.add_argument("--wandb", action="store_true", help="log the table, plot and explain.json to W&B")
    args = parser.parse_args(argv)

    from aqa.config.load import load_config
    from aqa.model.encoder import encoder_sample_rate
    from data_modules.manifest import load_table

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.experiment, args.overrides)
    table = load_table(cfg.data)
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    out = args.out or str(Path(cfg.run.dir or RUNS_ROOT) / "domains")
    compare = [c for c in args.compare.split(",") if c]
    explain(cfg, table, sample_rate, compare=compare, out_dir=out, plot=not args.no_plot, wandb=args.wandb)
    if not args.no_plot:
        print(f"plot: {Path(out) / 'domains_umap.png'}")
    print(f"numbers: {Path(out) / 'explain.json'}")
    return 0
