"""Evaluation rows: collected per step, gathered from every rank, de-duplicated, windows combined per clip."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from data_modules.manifest.columns import domain_column
from data_modules.windows import window_mean


@dataclass
class EvalRows:
    """Per-window rows of one split, as seen by one process. Arrays are appended per batch."""

    ids: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)  # source dataset per row (within-source metrics)
    window: list[np.ndarray] = field(default_factory=list)  # (B,)
    weight: list[np.ndarray] = field(default_factory=list)  # (B,)
    preds: list[np.ndarray] = field(default_factory=list)  # (B, A) original scale
    targets: list[np.ndarray] = field(default_factory=list)  # (B, A)
    domains: list[np.ndarray] = field(default_factory=list)  # (B, A)
    features: list[np.ndarray] = field(default_factory=list)  # (B, A, D) pooled per aspect (for the probe)
    stds: list[np.ndarray] = field(default_factory=list)  # (B, A) predicted rating spread (variance heads)
    ratings: list[np.ndarray] = field(default_factory=list)  # (B, A, R) individual ratings, NaN = none

    def add(
        self,
        batch: dict,
        preds: torch.Tensor,
        features: torch.Tensor | None = None,
        stds: torch.Tensor | None = None,
    ) -> None:
        self.ids += list(batch["ids"])
        self.systems += list(batch["systems"])
        self.datasets += list(batch.get("datasets", ["unknown"] * len(batch["ids"])))
        self.window.append(batch["window"].cpu().numpy())
        self.weight.append(batch["weight"].float().cpu().numpy())
        self.preds.append(preds.detach().float().cpu().numpy())
        self.targets.append(batch["targets"].float().cpu().numpy())
        self.domains.append(batch["domains"].cpu().numpy())
        if features is not None:
            self.features.append(features.detach().float().cpu().numpy())
        if stds is not None:
            self.stds.append(stds.detach().float().cpu().numpy())
            ratings = batch.get("ratings")
            shape = (len(batch["ids"]), preds.shape[1], 0)
            self.ratings.append(
                np.full(shape, np.nan, np.float32) if ratings is None else ratings.cpu().numpy()
            )

    def frame(self, aspects: list[str]) -> pd.DataFrame:
        """One row per window: id, system, dataset, window, weight, pred_<A>, target_<A>, domain_<A>
        (+ feature index)."""
        if not self.ids:
            return pd.DataFrame(columns=["id", "system", "dataset", "window", "weight"])
        preds, targets, domains = (np.concatenate(x) for x in (self.preds, self.targets, self.domains))
        data = {"id": self.ids, "system": self.systems, "dataset": self.datasets}
        data["window"] = np.concatenate(self.window)
        data["weight"] = np.concatenate(self.weight)
        for i, a in enumerate(aspects):
            data[f"pred_{a}"] = preds[:, i]
            data[f"target_{a}"] = targets[:, i]
            data[domain_column(a)] = domains[:, i]
        if self.stds:
            stds = np.concatenate(self.stds)
            for i, a in enumerate(aspects):
                data[f"std_{a}"] = stds[:, i]
        out = pd.DataFrame(data)
        if self.ratings:
            out["_ratings"] = [r for batch in self.ratings for r in batch]  # (A, R) per row
        if self.features:
            out["_feature"] = list(np.concatenate(self.features))
        return out


def gather_frames(frame: pd.DataFrame) -> pd.DataFrame:
    """Concatenate every rank's frame (all ranks receive the result); a no-op without a process group."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return frame
    frames: list = [None] * dist.get_world_size()
    dist.all_gather_object(frames, frame)
    return pd.concat(frames, ignore_index=True)


def combine_windows(frame: pd.DataFrame, aspects: list[str]) -> pd.DataFrame:
    """Drop repeats of (id, window) (DDP padding), then one row per clip: weighted mean of window predictions.

    Sorted by id, so the result does not depend on the order in which ranks or batches delivered rows.
    """
    frame = frame.drop_duplicates(subset=["id", "window"]).sort_values(["id", "window"], kind="stable")
    pred_cols = [f"pred_{a}" for a in aspects]
    codes, _ = pd.factorize(frame["id"], sort=True)
    weights = frame["weight"].to_numpy()
    clips = frame.groupby("id", sort=True).first()
    clips[pred_cols] = window_mean(frame[pred_cols].to_numpy(), weights, codes, len(clips))
    std_cols = [f"std_{a}" for a in aspects if f"std_{a}" in frame.columns]
    if std_cols:  # a clip's spread: the square root of the weighted mean of its windows' variances
        clips[std_cols] = np.sqrt(window_mean(frame[std_cols].to_numpy() ** 2, weights, codes, len(clips)))
    if "_feature" in frame.columns:  # per-clip feature: weighted mean of window features
        features = window_mean(np.stack(frame["_feature"].to_numpy()), weights, codes, len(clips))
        clips["_feature"] = list(features)
    return clips.drop(columns=["window", "weight"]).reset_index()
