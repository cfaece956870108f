"""Fit each aspect's definer once on the train split, label every row, save with the run, share across ranks."""

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aqa.config.domain import DefinerConfig
from aqa.definers.base import UNKNOWN, Definer, DefinerError
from aqa.definers.registry import build_definer, definer_class
from aqa.definers.resolve import definer_key, resolve_definers
from aqa.features import FeatureSettings, compute_features, features_identity
from data_modules.atomic import atomic_path
from data_modules.locks import file_lock
from data_modules.manifest.columns import attach_domains, domain_column

log = logging.getLogger(__name__)

UNEQUAL_RATIO = 10.0  # largest/smallest train domain above this -> a hint to set domain.class_weights


@dataclass
class DomainLabels:
    """Domain labels of every table row, per aspect, plus the fitted definers that made them."""

    ids: list[str]  # (N,) row ids: the order of every `labels` array
    labels: dict[str, np.ndarray]  # aspect -> (N,) int64 in [0, K) or -1 (unknown)
    num_domains: dict[str, int]  # aspect -> K; 0 = no adversary (definer `none`, or fewer than min_domains)
    names: dict[str, list[str]]  # aspect -> domain names, index = label
    class_weights: dict[str, list[float]] | None  # aspect -> K inverse-frequency weights (None: disabled)
    definers: dict[str, dict]  # aspect -> DefinerConfig fields
    fitted: list[dict]  # [{"config": DefinerConfig fields, "state": definer state}], shared by aspects
    fitted_index: dict[str, int]  # aspect -> index into `fitted`
    fingerprint: str = ""  # hash of what the labels depend on (definers, rows, train split, options)
    warnings: list[str] = field(default_factory=list)

    # -- identity --------------------------------------------------------------------------------------
    def digest(self) -> str:
        """Stable hash of ids, labels, K, names and class weights (compared across DDP ranks)."""
        h = hashlib.sha256()
        meta = [self.ids, self.num_domains, self.names, self.class_weights, sorted(self.labels)]
        h.update(json.dumps(meta, sort_keys=True).encode())
        for aspect in sorted(self.labels):
            h.update(np.ascontiguousarray(self.labels[aspect], dtype="<i8").tobytes())
        return h.hexdigest()

    # -- checkpoint ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Plain Python values only (the checkpoint is loaded with torch's weights_only=True)."""
        state = dataclasses.asdict(dataclasses.replace(self, labels={}))
        state["labels"] = {a: v.astype(np.int64).tolist() for a, v in self.labels.items()}
        return state

    @classmethod
    def from_state_dict(cls, state: dict) -> "DomainLabels":
        state = dict(state)
        state["labels"] = {a: np.asarray(v, dtype=np.int64) for a, v in state["labels"].items()}
        return cls(**state)

    # -- use -------------------------------------------------------------------------------------------
    def align(self, ids) -> "DomainLabels":
        """The same labels for other rows (by id); ids not labelled here get -1."""
        ids = [str(i) for i in ids]
        position = pd.Index(self.ids).get_indexer(ids)
        labels = {
            a: np.where(position >= 0, v[np.maximum(position, 0)], UNKNOWN).astype(np.int64)
            for a, v in self.labels.items()
        }
        return dataclasses.replace(self, ids=ids, labels=labels)

    def add_columns(self, table: pd.DataFrame, neutral_splits=()) -> pd.DataFrame:
        """`table` with int64 columns domain_<ASPECT> (matched by id; unknown ids and rows of
        `neutral_splits` -> -1)."""
        return attach_domains(table, self.ids, self.labels, neutral_splits=neutral_splits)

    def definer(self, aspect: str) -> Definer:
        """The fitted definer of `aspect`, rebuilt from its state (labels new rows: `.predict(rows, features)`)."""
        fitted = self.fitted[self.fitted_index[aspect]]
        return build_definer(DefinerConfig(**fitted["config"])).load_state_dict(fitted["state"])

    # -- run dir ---------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """labels.csv (id, domain_<ASPECT>...) and domains.json (the rest + digest), each written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv = pd.DataFrame({"id": self.ids, **{domain_column(a): v for a, v in self.labels.items()}})
        _atomic(folder / "labels.csv", lambda p: csv.to_csv(p, index=False))
        meta = {**self.state_dict(), "digest": self.digest()}
        del meta["ids"], meta["labels"]
        _atomic(folder / "domains.json", lambda p: Path(p).write_text(json.dumps(meta, indent=1)))

    @classmethod
    def load(cls, folder: str | Path) -> "DomainLabels | None":
        """The labels saved in `folder`, or None if absent or inconsistent (digest mismatch)."""
        folder = Path(folder)
        if not (folder / "domains.json").is_file() or not (folder / "labels.csv").is_file():
            return None
        meta = json.loads((folder / "domains.json").read_text())
        csv = pd.read_csv(folder / "labels.csv", dtype={"id": str}, keep_default_na=False)
        digest = meta.pop("digest")
        aspects = list(meta["num_domains"])
        labels = {a: csv[domain_column(a)].to_numpy(np.int64) for a in aspects if domain_column(a) in csv}
        if len(labels) != len(aspects):
            return None
        loaded = cls(ids=csv["id"].tolist(), labels=labels, **meta)
        return loaded if loaded.digest() == digest else None


def _atomic(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def train_mask(train_split: str, table: pd.DataFrame) -> np.ndarray:
    """(N,) bool: rows of the train split `data.train_split` (the only rows definers are fitted on)."""
    mask = (table["split"].astype(str) == str(train_split)).to_numpy()
    if not mask.any():
        raise DefinerError(f"no rows in train split {train_split!r}: domain definers fit on train only")
    return mask


def fit_definer(
    spec: DefinerConfig, table: pd.DataFrame, train: np.ndarray, features: np.ndarray | None
) -> tuple[Definer, np.ndarray]:
    """Fit `spec` on the train rows; returns the definer and (N,) int64 labels of all rows.

    features: (N, H) the definer's features (`definer_class(spec.name).features(spec)`) of `table` rows.
    """
    definer = build_definer(spec)
    missing = [c for c in definer.needs_columns if c not in table.columns]
    if missing:
        raise DefinerError(f"domain definer {spec.name}: column(s) {missing} not in the table")
    feats = features if definer.needs_embeddings else None
    definer.fit(table[train].reset_index(drop=True), None if feats is None else feats[train])
    return definer, definer.predict(table.reset_index(drop=True), feats)


def labels_fingerprint(
    domain,
    table: pd.DataFrame,
    specs: dict[str, DefinerConfig],
    sample_rate,
    *,
    train_split: str,
    feature_settings: FeatureSettings,
) -> str:
    """Hash of what fitted labels depend on: definers per aspect, rows + train membership, options
    (`domain.min_domains`, `domain.class_weights`), features."""
    rows = sorted(zip(table["id"].astype(str), train_mask(train_split, table).tolist()))
    parts = {
        "definers": {a: definer_key(s) for a, s in specs.items()},
        "rows": hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
        "min_domains": int(domain.min_domains),
        "class_weights": bool(domain.class_weights),
    }
    needed = sorted(needed_features(specs.values()))
    if needed:
        parts["features"] = {f: features_identity(feature_settings, table, sample_rate, f) for f in needed}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def needed_features(specs) -> set[str]:
    """The feature specs (`encoder`, `acoustic`, ...) the definer configs `specs` need."""
    return {f for s in specs if (f := definer_class(s.name).features(s)) is not None}


def fit_labels(
    domain,
    table: pd.DataFrame,
    specs: dict[str, DefinerConfig],
    sample_rate=None,
    features=None,
    *,
    train_split: str,
    feature_settings: FeatureSettings,
):
    """Fit every distinct definer of `specs` once (train rows only) and label all rows. Nothing is saved.

    domain: the `domain:` section (min_domains, class_weights).
    features: {spec: (N, H)} features of `table` rows; those missing are computed (cached) here.
    """
    train = train_mask(train_split, table)
    keys = {a: definer_key(s) for a, s in specs.items()}
    first: dict[str, DefinerConfig] = {}  # definer key -> its config (identical configs are fitted once)
    for aspect, key in keys.items():
        first.setdefault(key, specs[aspect])
    features = dict(features or {})
    for spec in sorted(needed_features(first.values()) - set(features)):
        features[spec] = compute_features(feature_settings, table, sample_rate, spec)
    fits = {
        key: fit_definer(spec, table, train, features.get(definer_class(spec.name).features(spec)))
        for key, spec in first.items()
    }
    order = list(first)
    out = DomainLabels(
        ids=table["id"].astype(str).tolist(),
        labels={},
        num_domains={},
        names={},
        class_weights={} if domain.class_weights else None,
        definers={a: dataclasses.asdict(s) for a, s in specs.items()},
        fitted=[{"config": dataclasses.asdict(first[k]), "state": fits[k][0].state_dict()} for k in order],
        fitted_index={a: order.index(k) for a, k in keys.items()},
    )
    for aspect, key in keys.items():
        definer, labels = fits[key]
        k = len(definer.names) if definer.adversary else 0
        counts = np.bincount(labels[train & (labels >= 0)], minlength=len(definer.names))
        seen = int((counts > 0).sum())
        if definer.adversary and seen < domain.min_domains:
            out.warnings.append(
                f"aspect {aspect}: definer {definer.name} gives {seen} domain(s) on the train split "
                f"(min_domains={domain.min_domains}): no adversary for {aspect}"
            )
            k = 0
        if (
            k
            and counts.min() > 0
            and counts.max() / counts.min() > UNEQUAL_RATIO
            and not domain.class_weights
        ):
            out.warnings.append(
                f"aspect {aspect}: very unequal domain sizes {counts.tolist()} (definer {definer.name}); "
                "consider domain.class_weights=true"
            )
        out.labels[aspect], out.num_domains[aspect], out.names[aspect] = labels, k, list(definer.names)
        if out.class_weights is not None:
            weights = np.where(counts > 0, counts.sum() / (k * np.maximum(counts, 1)), 0.0) if k else []
            out.class_weights[aspect] = [float(w) for w in weights]
    for message in out.warnings:
        log.warning(message)
    return out


def fit_domain_labels(
    domain,
    table: pd.DataFrame,
    run_dir: str | Path,
    sample_rate: int | None,
    *,
    aspects: list[str],
    train_split: str,
    seed: int,
    feature_settings: FeatureSettings,
) -> DomainLabels:
    """Labels of every `table` row per aspect, fitted on the train split, saved under `run_dir/domains/`.

    domain: the `domain:` section; aspects, train_split: `data.aspects`, `data.train_split`; seed: the
    run's `seed` (definers with `seed: null` follow it); feature_settings: what the features read.
    Under a file lock: when the folder already holds labels with the same fingerprint (same definers,
    rows and options) they are loaded, not refitted, so DDP ranks and resumed runs share one fit.
    """
    specs = resolve_definers(domain, list(aspects), seed=seed)
    named = {"train_split": train_split, "feature_settings": feature_settings}
    folder = Path(run_dir) / "domains"
    with file_lock(folder / ".lock"):
        fingerprint = labels_fingerprint(domain, table, specs, sample_rate, **named)
        saved = DomainLabels.load(folder)
        if saved is not None and saved.fingerprint == fingerprint:
            log.info("domain labels: reusing %s (digest %s)", folder, saved.digest()[:12])
            return saved.align(table["id"])
        if saved is not None:
            log.warning("domain labels in %s were fitted for other definers or rows: refitting", folder)
        labels = fit_labels(domain, table, specs, sample_rate, **named)
        labels.fingerprint = fingerprint
        labels.save(folder)
        log.info("domain labels: fitted, saved to %s (digest %s)", folder, labels.digest()[:12])
    return labels
