"""The LightningModule: encoder -> per-aspect pooling (-> projection) -> MOS head; per-aspect domain handling
(GRL domain classifier, domain embedding for the head, or per-domain output correction)."""

import math
from dataclasses import dataclass

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import nn

from aqa.metrics.calibration import calibration_metrics
from aqa.metrics.rows import EvalRows, combine_windows, gather_frames
from aqa.metrics.scores import split_metrics
from aqa.model.aspects import aspect_settings
from aqa.model.domain_handling import DomainBias, DomainEmbedding, target_condition
from aqa.model.encoder import Encoder
from aqa.model.grl import after_warmup, grl_lambda
from aqa.model.heads import DomainClassifier, MOSHead, Projection
from aqa.model.losses import mos_loss, variance_loss
from aqa.model.pooling import build_pool, masked_layer_means
from aqa.model.rnc import batch_rnc

VARIANCE_FLOOR = 1e-3  # normalised units: keeps the Gaussian NLL finite when a head predicts no spread


@dataclass
class ModelOutput:
    """What one forward pass gives (normalised units)."""

    preds: torch.Tensor  # (B, A) MOS
    features: torch.Tensor  # (B, A, D) what each aspect's head and adversary see (probe features)
    var: torch.Tensor | None  # (B, A) predicted rating variance (model.head_variance), else None


class AQAModule(L.LightningModule):
    """Predicts every configured MOS aspect; each aspect with domains > 1 handles them as
    `model.domain_handling` / `model.aspects.<A>.domain_handling` says (README "Domain handling").

    Built from its own config sections only (`aqa.model.sections.module_sections` maps the experiment
    config onto them).

    Args:
        model, loss: the `model:` and `loss:` sections (plain dicts).
        optim: the `optim:` section, with `plateau_monitor` / `plateau_mode` resolved (None -> checkpoint's).
        aspects: `data.aspects`, the order of every (B, A) tensor.
        label_columns: `data.label_columns` (the columns of batch["labels"], for the RnC bitrate term).
        min_source_clips: `metrics.min_source_clips` (within-source metrics).
        num_domains: {aspect: K}; K < 2 means no domain handling for that aspect (plain ERM).
        target_mean, target_std: per-aspect train statistics (A,), kept as buffers for de-normalisation.
        class_weights: optional {aspect: [K weights]} for the domain loss.
        domain_names: {aspect: [K names]} for per-domain metrics.
        record: the resolved experiment config, stored in the checkpoint for eval/predict/export (which
            rebuild data settings from it); the module never reads it.
    """

    def __init__(
        self,
        model: dict,
        loss: dict,
        optim: dict,
        aspects: list[str],
        label_columns: list[str],
        min_source_clips: int,
        num_domains: dict[str, int],
        target_mean: list[float],
        target_std: list[float],
        class_weights: dict[str, list[float]] | None = None,
        domain_names: dict[str, list[str]] | None = None,
        record: dict | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)  # in the checkpoint; the loggers get the config once
        self.model_cfg: DictConfig = OmegaConf.create(model)
        self.loss_cfg: DictConfig = OmegaConf.create(loss)
        self.optim_cfg: DictConfig = OmegaConf.create(optim)
        self.aspects = list(aspects)
        self.label_columns = list(label_columns)
        self.min_source_clips = int(min_source_clips)
        self.domain_names = domain_names or {}
        model_cfg = self.model_cfg
        self.settings = aspect_settings(model_cfg, self.aspects)
        self.capacity = model_cfg.aspect_capacity
        if self.capacity == "separate":  # one encoder per aspect: one model per aspect in one module
            self.encoders = nn.ModuleDict({a: Encoder(model_cfg.encoder) for a in self.aspects})
            first = self.encoders[self.aspects[0]]
        else:
            self.encoder = Encoder(model_cfg.encoder)
            first = self.encoder
        L_, H = first.num_layers, first.hidden_size
        self.pools = nn.ModuleDict(
            {a: build_pool(model_cfg.pooling, L_, H, model_cfg.deepaq_dim) for a in self.aspects}
        )
        dim = self.pools[self.aspects[0]].out_dim
        if self.capacity == "projected":
            self.projections = nn.ModuleDict(
                {a: Projection(dim, model_cfg.projection_dim) for a in self.aspects}
            )
            dim = model_cfg.projection_dim
        handled = {a: k for a, k in num_domains.items() if k >= 2 and a in self.aspects}
        handling = {a: self.settings[a].domain_handling for a in handled}
        emb = model_cfg.domain_embedding_dim
        self.domain_embeddings = nn.ModuleDict(
            {a: DomainEmbedding(k, emb) for a, k in handled.items() if handling[a] == "conditioned"}
        )
        self.domain_biases = nn.ModuleDict(
            {a: DomainBias(k) for a, k in handled.items() if handling[a] == "bias"}
        )
        self.head_variance = bool(model_cfg.head_variance)
        self.heads = nn.ModuleDict(
            {
                a: MOSHead(
                    dim + (emb if a in self.domain_embeddings else 0),
                    model_cfg.head_hidden,
                    model_cfg.head_dropout,
                    outputs=2 if self.head_variance else 1,
                )
                for a in self.aspects
            }
        )
        adv = model_cfg.adversary
        self.adversaries = nn.ModuleDict(
            {
                a: DomainClassifier(
                    dim, k, adv.hidden, adv.dropout, 2 if handling[a] == "adversarial_conditional" else 0
                )
                for a, k in handled.items()
                if self.settings[a].adversarial
            }
        )
        for a in self.adversaries:
            weights = (class_weights or {}).get(a)
            self.register_buffer(f"class_weight_{a}", torch.tensor(weights) if weights else None)
        self.register_buffer("target_mean", torch.tensor(target_mean, dtype=torch.float32))
        self.register_buffer("target_std", torch.tensor(target_std, dtype=torch.float32))
        self.register_buffer("grl_lambda", torch.zeros(()))  # the global schedule's lambda (logged)
        self.register_buffer("grl_lambdas", torch.zeros(len(self.aspects)), persistent=False)  # (A,) in use
        self.domain_table: dict | None = (
            None  # {"ids": [...], "labels": {aspect: [...]}} saved in checkpoints
        )
        self.domain_state: dict | None = None  # DomainLabels.state_dict(): the fitted definers
        self.collect_features = False  # final evaluation keeps pooled features for the domain probe
        self._rows: dict[str, EvalRows] = {}
        self._rnc: dict[str, list[float]] = {}  # stage -> RnC loss per evaluation batch (DeePAQ)
        self.eval_clips: dict[str, object] = {}  # stage -> per-clip frame of the last evaluation
        self.last_metrics: dict[str, float] = {}  # float64 values of the last evaluation, every stage

    # ---- forward -----------------------------------------------------------------------------------
    def forward(
        self, audio: torch.Tensor, lengths: torch.Tensor, domains: torch.Tensor | None = None
    ) -> ModelOutput:
        """(B, T), (B,), domain labels (B, A) or None (= all unknown) -> ModelOutput (normalised units).

        Only `conditioned` and `bias` aspects read the labels; an unknown label (-1, or one outside the K
        trained domains) takes the neutral choice (mean embedding; identity correction).
        """
        features = self.features(audio, lengths)  # (B, A, D)
        if domains is None:
            domains = torch.full(features.shape[:2], -1, dtype=torch.long, device=features.device)
        preds, variances = [], []
        for i, a in enumerate(self.aspects):
            x = features[:, i]
            if a in self.domain_embeddings:
                x = torch.cat([x, self.domain_embeddings[a](domains[:, i]).to(x.dtype)], dim=-1)
            out = self.heads[a](x)  # (B, 1) or (B, 2)
            mean = out[:, 0]
            var = F.softplus(out[:, 1]) + VARIANCE_FLOOR if self.head_variance else None
            if a in self.domain_biases:
                mean = self.domain_biases[a](mean, domains[:, i])
                var = var * self.domain_biases[a].scale(domains[:, i]) ** 2 if var is not None else None
            preds.append(mean)
            variances.append(var)
        var = torch.stack(variances, dim=1) if self.head_variance else None
        return ModelOutput(torch.stack(preds, dim=1), features, var)

    def features(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T), (B,) -> (B, A, D): per aspect, pooled encoder layers (through its projection if any)."""
        if self.capacity == "separate":
            pooled = []
            for a in self.aspects:
                hidden, frame_mask = self.encoders[a](audio, lengths)  # (L, B, F, H), (B, F)
                pooled.append(self.pools[a](masked_layer_means(hidden, frame_mask)))
        else:
            hidden, frame_mask = self.encoder(audio, lengths)  # (L, B, F, H), (B, F)
            layer_means = masked_layer_means(hidden, frame_mask)  # (L, B, H)
            pooled = [self.pools[a](layer_means) for a in self.aspects]
        if self.capacity == "projected":
            pooled = [self.projections[a](p) for a, p in zip(self.aspects, pooled, strict=True)]
        return torch.stack(pooled, dim=1)

    def encoder_modules(self) -> list[Encoder]:
        return list(self.encoders.values()) if self.capacity == "separate" else [self.encoder]

    def denormalise(self, preds: torch.Tensor) -> torch.Tensor:
        return preds * self.target_std + self.target_mean

    def normalise(self, values: torch.Tensor) -> torch.Tensor:
        """(B, A) or (B, A, R) original scale -> normalised units."""
        shape = (1, -1) + (1,) * (values.dim() - 2)
        return (values - self.target_mean.view(shape)) / self.target_std.view(shape)

    # ---- training ----------------------------------------------------------------------------------
    def on_train_batch_start(self, batch, batch_idx) -> None:
        progress = self.global_step / max(1, self.trainer.estimated_stepping_batches)
        adv = self.model_cfg.adversary
        progress = after_warmup(progress, adv.warmup_fraction)
        self.grl_lambda.fill_(grl_lambda(progress, adv.lambda_max, adv.gamma))
        lambdas = [grl_lambda(progress, s.lambda_max, s.gamma) for s in self.settings.values()]
        self.grl_lambdas.copy_(torch.tensor(lambdas))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self(batch["audio"], batch["lengths"], batch["domains"])
        targets = self.normalise(batch["targets"])
        mos = self.mos_losses(out, targets, batch.get("ratings"))  # (A,)
        domain_logits, domain_losses = self.domain_terms(out, targets, batch["domains"])
        loss = self.loss_cfg.mos_weight * mos.mean() + self.weighted_domain_loss(domain_losses)
        # --- DeePAQ: Rank-N-Contrast on the first aspect's pooled embedding (aqa/model/rnc.py) ---
        if self.loss_cfg.rnc_weight > 0:
            rnc = batch_rnc(out.features[:, 0], batch, self.aspects, self.loss_cfg, self.label_columns)
            loss = loss + self.loss_cfg.rnc_weight * rnc
            self.log("train/rnc_loss", rnc.detach(), batch_size=len(batch["ids"]))
        # --- end DeePAQ ---
        if (
            self.global_step % self.trainer.log_every_n_steps == 0
        ):  # building the log costs: only when written
            self._log_train(batch, loss, mos, domain_logits, domain_losses)
        self.log("loss", loss.detach(), batch_size=len(batch["ids"]), prog_bar=True, logger=False)
        return loss

    def mos_losses(
        self, out: ModelOutput, targets: torch.Tensor, ratings: torch.Tensor | None
    ) -> torch.Tensor:
        """-> (A,): each aspect's MOS term (Gaussian NLL of its ratings under model.head_variance)."""
        if not self.head_variance:
            return torch.stack(
                [mos_loss(out.preds[:, i], targets[:, i], self.loss_cfg) for i in range(len(self.aspects))]
            )
        ratings = self.normalise(ratings) if ratings is not None else None
        return torch.stack(
            [
                variance_loss(
                    out.preds[:, i],
                    out.var[:, i],
                    targets[:, i],
                    ratings[:, i] if ratings is not None else None,
                    self.loss_cfg,
                )
                for i in range(len(self.aspects))
            ]
        )

    def domain_terms(self, out: ModelOutput, targets: torch.Tensor, domains: torch.Tensor):
        """-> ({aspect: (i, logits (B, K))}, {aspect: domain loss}) for every adversarial aspect; each
        reversal uses the aspect's own lambda; the conditional adversary also sees the normalised target."""
        logits = {}
        for i, a in enumerate(self.aspects):
            if a in self.adversaries:
                conditional = self.settings[a].domain_handling == "adversarial_conditional"
                condition = target_condition(targets[:, i]) if conditional else None
                logits[a] = (i, self.adversaries[a](out.features[:, i], self.grl_lambdas[i], condition))
        losses = {a: self._domain_loss(a, lg, domains[:, i]) for a, (i, lg) in logits.items()}
        return logits, losses

    def weighted_domain_loss(self, domain_losses: dict[str, torch.Tensor]) -> torch.Tensor | float:
        """Sum (not mean) of each aspect's domain loss times its own weight: an aspect's adversarial strength
        does not depend on how many other aspects have adversaries."""
        return sum(self.settings[a].weight * loss for a, loss in domain_losses.items())

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
        for a in self.adversaries:
            log[f"train/{a}/grl_lambda"] = self.grl_lambdas[self.aspects.index(a)]
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
        out = self(batch["audio"], batch["lengths"], batch["domains"])
        if self.loss_cfg.rnc_weight > 0:  # DeePAQ: `<stage>/rnc_loss` (batch mean) to select checkpoints on
            rnc = batch_rnc(out.features[:, 0], batch, self.aspects, self.loss_cfg, self.label_columns)
            self._rnc.setdefault(stage, []).append(float(rnc))
        rows = self._rows.setdefault(stage, EvalRows())
        features = out.features if self.collect_features else None
        rows.add(batch, self.denormalise(out.preds), features, stds=self.stds(out))

    def stds(self, out: ModelOutput) -> torch.Tensor | None:
        """(B, A) predicted rating spread (std) on the original scale, or None without a variance head."""
        return None if out.var is None else out.var.sqrt() * self.target_std

    def _eval_epoch_end(self) -> None:
        for stage, rows in self._rows.items():
            frame = gather_frames(rows.frame(self.aspects))
            clips = combine_windows(frame, self.aspects)
            metrics = split_metrics(clips, self.aspects, stage, self.domain_names, self.min_source_clips)
            if self.head_variance:
                metrics |= calibration_metrics(clips, self.aspects, stage)
            self.log_dict(metrics)  # identical on every rank: computed from the gathered rows
            self.eval_clips[stage] = clips
            self.last_metrics |= metrics
        for stage, values in self._rnc.items():  # DeePAQ: mean RnC loss over the stage's batches
            rnc = {f"{stage}/rnc_loss": float(torch.tensor(values).mean())}
            self.log_dict(rnc, sync_dist=True)
            self.last_metrics |= rnc
        self._rows, self._rnc = {}, {}

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, self._stage_name("test", dataloader_idx))

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end()

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end()

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict:
        out = self(batch["audio"], batch["lengths"], batch["domains"])
        return {
            "ids": batch["ids"],
            "window": batch["window"],
            "weight": batch["weight"],
            "preds": self.denormalise(out.preds),
            "stds": self.stds(out),
        }

    # ---- optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self):
        optim = self.optim_cfg
        encoder_params = [p for e in self.encoder_modules() for p in e.parameters() if p.requires_grad]
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

        if optim.scheduler == "plateau":  # DeePAQ: LR x factor after `patience` epochs without improvement
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, optim.plateau_mode, optim.plateau_factor, optim.plateau_patience
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": plateau, "monitor": optim.plateau_monitor},
            }
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def save_adapters(self, directory) -> None:
        """peft adapters (lora mode only; separate capacity: one folder per aspect)."""
        if self.model_cfg.encoder.mode != "lora":
            return
        if self.capacity == "separate":
            for a, encoder in self.encoders.items():
                encoder.save_adapters(f"{directory}/{a}")
        else:
            self.encoder.save_adapters(directory)

    # ---- checkpoint extras -------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.domain_table is not None:
            checkpoint["aqa_domain_table"] = self.domain_table
        if self.domain_state is not None:
            checkpoint["aqa_domains"] = self.domain_state

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.domain_table = checkpoint.get("aqa_domain_table")
        self.domain_state = checkpoint.get("aqa_domains")
