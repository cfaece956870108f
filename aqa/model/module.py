"""The LightningModule: encoder -> per-aspect pooling -> MOS head; per-aspect GRL -> domain classifier."""

import math

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import nn

from aqa.metrics.rows import EvalRows, combine_windows, gather_frames
from aqa.metrics.scores import split_metrics
from aqa.model.encoder import Encoder
from aqa.model.grl import grl_lambda
from aqa.model.heads import DomainClassifier, MOSHead
from aqa.model.losses import mos_loss
from aqa.model.pooling import build_pool, masked_layer_means


class AQAModule(L.LightningModule):
    """Predicts every configured MOS aspect; each aspect with domains > 1 gets its own adversary.

    Args:
        config: the resolved experiment config (plain dict; stored in the checkpoint).
        num_domains: {aspect: K}; K < 2 means no adversary for that aspect (plain ERM).
        target_mean, target_std: per-aspect train statistics (A,), kept as buffers for de-normalisation.
        class_weights: optional {aspect: [K weights]} for the domain loss.
        domain_names: {aspect: [K names]} for per-domain metrics.
    """

    def __init__(
        self,
        config: dict,
        num_domains: dict[str, int],
        target_mean: list[float],
        target_std: list[float],
        class_weights: dict[str, list[float]] | None = None,
        domain_names: dict[str, list[str]] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)  # in the checkpoint; the loggers get the config once
        self.cfg: DictConfig = OmegaConf.create(config)
        self.aspects = list(self.cfg.data.aspects)
        self.domain_names = domain_names or {}
        model_cfg = self.cfg.model
        self.encoder = Encoder(model_cfg.encoder)
        L_, H = self.encoder.num_layers, self.encoder.hidden_size
        self.pools = nn.ModuleDict(
            {a: build_pool(model_cfg.pooling, L_, H, model_cfg.deepaq_dim) for a in self.aspects}
        )
        dim = self.pools[self.aspects[0]].out_dim
        self.heads = nn.ModuleDict(
            {a: MOSHead(dim, model_cfg.head_hidden, model_cfg.head_dropout) for a in self.aspects}
        )
        adv = model_cfg.adversary
        self.adversaries = nn.ModuleDict(
            {
                a: DomainClassifier(dim, k, adv.hidden, adv.dropout)
                for a, k in num_domains.items()
                if k >= 2 and a in self.aspects
            }
        )
        for a in self.adversaries:
            weights = (class_weights or {}).get(a)
            self.register_buffer(f"class_weight_{a}", torch.tensor(weights) if weights else None)
        self.register_buffer("target_mean", torch.tensor(target_mean, dtype=torch.float32))
        self.register_buffer("target_std", torch.tensor(target_std, dtype=torch.float32))
        self.register_buffer("grl_lambda", torch.zeros(()))
        self.domain_table: dict | None = (
            None  # {"ids": [...], "labels": {aspect: [...]}} saved in checkpoints
        )
        self.domain_state: dict | None = None  # DomainLabels.state_dict(): the fitted definers
        self.collect_features = False  # final evaluation keeps pooled features for the domain probe
        self._rows: dict[str, EvalRows] = {}
        self.eval_clips: dict[str, object] = {}  # stage -> per-clip frame of the last evaluation
        self.last_metrics: dict[str, float] = {}  # float64 values of the last evaluation, every stage

    # ---- forward -----------------------------------------------------------------------------------
    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T), (B,) -> normalised predictions (B, A), pooled features (B, A, D)."""
        hidden, frame_mask = self.encoder(audio, lengths)  # (L, B, F, H), (B, F)
        layer_means = masked_layer_means(hidden, frame_mask)  # (L, B, H)
        pooled = torch.stack([self.pools[a](layer_means) for a in self.aspects], dim=1)  # (B, A, D)
        preds = torch.stack([self.heads[a](pooled[:, i]) for i, a in enumerate(self.aspects)], dim=1)
        return preds, pooled

    def denormalise(self, preds: torch.Tensor) -> torch.Tensor:
        return preds * self.target_std + self.target_mean

    # ---- training ----------------------------------------------------------------------------------
    def on_train_batch_start(self, batch, batch_idx) -> None:
        progress = self.global_step / max(1, self.trainer.estimated_stepping_batches)
        adv = self.cfg.model.adversary
        self.grl_lambda.fill_(grl_lambda(progress, adv.lambda_max, adv.gamma))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        preds, pooled = self(batch["audio"], batch["lengths"])
        targets = (batch["targets"] - self.target_mean) / self.target_std
        mos = torch.stack(
            [mos_loss(preds[:, i], targets[:, i], self.cfg.loss) for i in range(len(self.aspects))]
        )
        loss = mos.mean()
        domain_logits = {}
        for i, a in enumerate(self.aspects):
            if a in self.adversaries:
                domain_logits[a] = (i, self.adversaries[a](pooled[:, i], self.grl_lambda))
        domain_losses = {
            a: self._domain_loss(a, logits, batch["domains"][:, i])
            for a, (i, logits) in domain_logits.items()
        }
        if domain_losses:
            loss = loss + self.cfg.model.adversary.weight * torch.stack(list(domain_losses.values())).mean()
        if (
            self.global_step % self.trainer.log_every_n_steps == 0
        ):  # building the log costs: only when written
            self._log_train(batch, loss, mos, domain_logits, domain_losses)
        self.log("loss", loss.detach(), batch_size=len(batch["ids"]), prog_bar=True, logger=False)
        return loss

    def _domain_loss(self, aspect: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over rows with a known label (-1 = unknown), class-weighted; 0, not NaN, when a batch
        has no known label (masked mean, no host sync)."""
        weight = getattr(self, f"class_weight_{aspect}")
        known = labels >= 0
        per_row = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
        row_weight = known.to(per_row.dtype) * (weight[labels.clamp(min=0)] if weight is not None else 1.0)
        return (per_row * row_weight).sum() / row_weight.sum().clamp(min=1e-8)

    def _log_train(self, batch, loss, mos, domain_logits, domain_losses) -> None:
        log = {
            "train/loss": loss.detach(),
            "train/mos_loss": mos.mean().detach(),
            "train/grl_lambda": self.grl_lambda,
        }
        for i, a in enumerate(self.aspects):
            log[f"train/{a}/mos_loss"] = mos[i].detach()
        for a, (i, logits) in domain_logits.items():
            labels = batch["domains"][:, i]
            known = (labels >= 0).float()
            correct = (logits.argmax(-1) == labels).float() * known
            log[f"train/{a}/domain_loss"] = domain_losses[a].detach()
            log[f"train/{a}/domain_acc"] = correct.sum() / known.sum().clamp(min=1.0)
            log[f"train/{a}/domain_chance"] = 1.0 / logits.shape[-1]
        if "padding_fraction" in batch:
            log["train/padding_fraction"] = float(batch["padding_fraction"])
        self.log_dict(log, batch_size=len(batch["ids"]))

    # ---- evaluation --------------------------------------------------------------------------------
    def _stage_name(self, stage: str, dataloader_idx: int) -> str:
        if stage == "val":
            return "val"
        return self.trainer.datamodule.eval_split_names[dataloader_idx]

    def _eval_step(self, batch: dict, stage: str) -> None:
        preds, pooled = self(batch["audio"], batch["lengths"])
        rows = self._rows.setdefault(stage, EvalRows())
        rows.add(batch, self.denormalise(preds), pooled if self.collect_features else None)

    def _eval_epoch_end(self) -> None:
        for stage, rows in self._rows.items():
            frame = gather_frames(rows.frame(self.aspects))
            clips = combine_windows(frame, self.aspects)
            metrics = split_metrics(
                clips, self.aspects, stage, self.domain_names, self.cfg.metrics.min_source_clips
            )
            self.log_dict(metrics)  # identical on every rank: computed from the gathered rows
            self.eval_clips[stage] = clips
            self.last_metrics |= metrics
        self._rows = {}

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, self._stage_name("test", dataloader_idx))

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end()

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end()

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict:
        preds, _ = self(batch["audio"], batch["lengths"])
        return {
            "ids": batch["ids"],
            "window": batch["window"],
            "weight": batch["weight"],
            "preds": self.denormalise(preds),
        }

    # ---- optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self):
        optim = self.cfg.optim
        encoder_params = [p for p in self.encoder.parameters() if p.requires_grad]
        encoder_ids = {id(p) for p in encoder_params}
        other = [p for p in self.parameters() if p.requires_grad and id(p) not in encoder_ids]
        groups = [{"params": other, "lr": optim.lr}]
        if encoder_params:
            groups.append({"params": encoder_params, "lr": optim.encoder_lr})
        optimizer = torch.optim.AdamW(groups, weight_decay=optim.weight_decay)
        total = max(1, self.trainer.estimated_stepping_batches)
        warmup = int(optim.warmup_fraction * total)

        def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 0
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ---- checkpoint extras -------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.domain_table is not None:
            checkpoint["aqa_domain_table"] = self.domain_table
        if self.domain_state is not None:
            checkpoint["aqa_domains"] = self.domain_state

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.domain_table = checkpoint.get("aqa_domain_table")
        self.domain_state = checkpoint.get("aqa_domains")
