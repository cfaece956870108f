"""The LightningModule, a thin shell around the per-aspect model (aqa/model/aspect_model.py): the encoder
(or, under `model.encoder.mode=cached`, the layer cache), training and evaluation steps, optimisers, the
GRL schedule, metric rows and checkpoint extras. The loss is the objective registry's weighted sum
(aqa/model/objectives)."""

import math

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from omegaconf import DictConfig, OmegaConf

from aqa.metrics.calibration import calibration_metrics
from aqa.metrics.rows import EvalRows, combine_windows, gather_frames
from aqa.metrics.scores import split_metrics
from aqa.model.aspect_model import VARIANCE_FLOOR, AspectModel, ModelOutput, upgrade_state_dict
from aqa.model.encoder import Encoder
from aqa.model.grl import after_warmup, grl_lambda
from aqa.model.objectives.base import Step
from aqa.model.objectives.registry import OBJECTIVES, total_loss
from aqa.model.rnc import batch_rnc

__all__ = ["VARIANCE_FLOOR", "AQAModule", "ModelOutput"]
CACHED = "cached"  # model.encoder.mode of screening runs: the model trains on the layer cache
DELEGATED = (
    "pools",
    "projections",
    "heads",
    "handlings",
    "adversaries",
    "settings",
    "capacity",
    "head_variance",
    "denormalise",
    "normalise",
    "target_mean",
    "target_std",
)  # read through to the per-aspect model


def encoder_dims(enc) -> tuple[int, int]:
    """(L+1 hidden states, H) of the `model.encoder` section's checkpoint, from its config (no weights)."""
    from transformers import HubertConfig

    from aqa.model.encoder import _revision, resolve_encoder_path

    config = HubertConfig.from_pretrained(resolve_encoder_path(enc), revision=_revision(enc))
    return config.num_hidden_layers + 1, config.hidden_size


def logged_value(value) -> float:
    """A value as `self.log` hands it to the loggers: a number as a float32 tensor, a tensor other than
    float32/float64 cast to float32, then `.item()`."""
    if not isinstance(value, torch.Tensor):
        return torch.tensor(value, dtype=torch.float32).item()
    if value.dtype not in (torch.float32, torch.float64):
        value = value.to(torch.float32)
    return value.detach().item()


class AQAModule(L.LightningModule):
    """Predicts every configured MOS aspect; each aspect with domains > 1 handles them as
    `model.domain_handling` / `model.aspects.<A>.domain_handling` says (README "Domain handling").

    Built from its own config sections only (`aqa.model.sections.module_sections` maps the experiment
    config onto them), plus what training fitted; nothing is set on it after construction.

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
        domain_state: DomainLabels.state_dict() (the fitted definers), saved in checkpoints.
        domain_table: {"ids": [...], "labels": {aspect: [...]}}, saved in checkpoints.
        collect_features: the final evaluation (trainer.validate/test after fit, not the validation
            epochs inside it) keeps each clip's pooled features (A, D) in `eval_clips` for the domain
            probe; not saved in checkpoints.
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
        domain_state: dict | None = None,
        domain_table: dict | None = None,
        collect_features: bool = False,
    ):
        super().__init__()
        # in the checkpoint (the loggers get the config once); the domain extras have their own keys
        self.save_hyperparameters(ignore=["domain_state", "domain_table", "collect_features"], logger=False)
        self.model_cfg: DictConfig = OmegaConf.create(model)
        self.loss_cfg: DictConfig = OmegaConf.create(loss)
        self.optim_cfg: DictConfig = OmegaConf.create(optim)
        self.aspects = list(aspects)
        self.label_columns = list(label_columns)
        self.min_source_clips = int(min_source_clips)
        self.domain_names = domain_names or {}
        enc = self.model_cfg.encoder
        self.cached = enc.mode == CACHED
        separate = self.model_cfg.aspect_capacity == "separate"
        if self.cached:  # no trained encoder: a frozen one is built only when audio comes in (predict)
            self._frozen: list[Encoder] = []
            num_layers, hidden_size = encoder_dims(enc)
        elif separate:  # one encoder per aspect: one model per aspect in one module
            self.encoders = torch.nn.ModuleDict({a: Encoder(enc) for a in self.aspects})
            num_layers, hidden_size = (
                self.encoders[self.aspects[0]].num_layers,
                self.encoders[self.aspects[0]].hidden_size,
            )
        else:
            self.encoder = Encoder(enc)
            num_layers, hidden_size = self.encoder.num_layers, self.encoder.hidden_size
        self.aspect_model = AspectModel(
            self.model_cfg,
            self.aspects,
            num_layers,
            hidden_size,
            num_domains,
            target_mean,
            target_std,
            class_weights,
        )
        self.objectives = [cls() for cls in OBJECTIVES.values()]
        self.register_buffer("grl_lambda", torch.zeros(()))  # the global schedule's lambda (logged)
        self.register_buffer("grl_lambdas", torch.zeros(len(self.aspects)), persistent=False)  # (A,) in use
        self._register_load_state_dict_pre_hook(self._upgrade)
        self.domain_table = domain_table
        self.domain_state = domain_state
        self.collect_features = bool(collect_features)
        self._rows: dict[str, EvalRows] = {}
        self._rnc: dict[str, list[float]] = {}  # stage -> RnC loss per evaluation batch (DeePAQ)
        self._train_row: dict[str, float] | None = None  # the last logged training values, this epoch
        self.eval_clips: dict[str, object] = {}  # stage -> per-clip frame of the last evaluation
        self.last_metrics: dict[str, float] = {}  # float64 values of the last evaluation, every stage

    @staticmethod
    def _upgrade(state_dict, prefix, *args) -> None:
        upgrade_state_dict(state_dict, prefix, "aspect_model.")  # checkpoints from before AspectModel

    def __getattr__(self, name: str):
        if name in DELEGATED:
            return getattr(self._modules["aspect_model"], name)
        return super().__getattr__(name)

    # ---- forward -----------------------------------------------------------------------------------
    def forward(
        self, audio: torch.Tensor, lengths: torch.Tensor, domains: torch.Tensor | None = None
    ) -> ModelOutput:
        """(B, T), (B,), domain labels (B, A) or None (= all unknown) -> ModelOutput (normalised units)."""
        return self.aspect_model.from_layer_means(self.layer_means(audio, lengths), domains)

    def output(self, batch: dict) -> ModelOutput:
        """A batch of audio (waveform data module) or of cached layers (`layers` (B, L+1, H)) -> ModelOutput."""
        if "layers" in batch:
            return self.aspect_model(batch["layers"], batch["domains"])
        return self(batch["audio"], batch["lengths"], batch["domains"])

    def layer_means(self, audio: torch.Tensor, lengths: torch.Tensor):
        """(B, T), (B,) -> (L+1, B, H) masked frame means of each hidden state ({aspect: ...} if separate)."""
        from aqa.model.pooling import masked_layer_means

        if self.cached:
            return masked_layer_means(*self.frozen_encoder()(audio, lengths))
        if self.aspect_model.capacity == "separate":
            return {a: masked_layer_means(*self.encoders[a](audio, lengths)) for a in self.aspects}
        return masked_layer_means(*self.encoder(audio, lengths))

    def frozen_encoder(self) -> Encoder:
        """cached mode: the frozen pretrained encoder the layer cache was computed with (built once)."""
        if not self._frozen:
            encoder = Encoder(OmegaConf.merge(self.model_cfg.encoder, {"mode": "frozen"})).eval()
            self._frozen.append(encoder.to(self.device))
        return self._frozen[0]

    def features(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T), (B,) -> (B, A, D): per aspect, pooled encoder layers (through its projection if any)."""
        return self.aspect_model.features(self.layer_means(audio, lengths))

    def encoder_modules(self) -> list[Encoder]:
        if self.cached:
            return []
        return list(self.encoders.values()) if self.aspect_model.capacity == "separate" else [self.encoder]

    # ---- training ----------------------------------------------------------------------------------
    def on_train_batch_start(self, batch, batch_idx) -> None:
        progress = self.global_step / max(1, self.trainer.estimated_stepping_batches)
        adv = self.model_cfg.adversary
        progress = after_warmup(progress, adv.warmup_fraction)
        self.grl_lambda.fill_(grl_lambda(progress, adv.lambda_max, adv.gamma))
        lambdas = [grl_lambda(progress, s.lambda_max, s.gamma) for s in self.aspect_model.settings.values()]
        self.grl_lambdas.copy_(torch.tensor(lambdas))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self.output(batch)
        targets = self.aspect_model.normalise(batch["targets"])
        step = Step(
            self.aspect_model, out, batch, targets, self.grl_lambdas, self.loss_cfg, self.label_columns
        )
        loss, logs = total_loss(step, self.objectives)
        if self.global_step % self.trainer.log_every_n_steps == 0:  # only when written
            log = {"train/loss": loss.detach(), "train/grl_lambda": self.grl_lambda, **logs}
            if "padding_fraction" in batch:
                log["train/padding_fraction"] = float(batch["padding_fraction"])
            if log.keys() & self._monitors():  # a callback or the scheduler reads one: Lightning's path
                self.log_dict(log, batch_size=len(batch["ids"]))
            else:  # written by on_train_batch_end, as Lightning would write it
                self._train_row = {k: logged_value(v) for k, v in log.items()}
        if self._shows_loss():
            self.log("loss", loss.detach(), batch_size=len(batch["ids"]), prog_bar=True, logger=False)
        return loss

    def on_train_epoch_start(self) -> None:
        self._train_row = None  # Lightning resets its logged step values at each epoch end

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        """The last logged training values (`training_step` logs every `log_every_n_steps` steps) to the
        loggers, on the steps and in the row Lightning's logger connector would write them (float32 values,
        `epoch`, step `_batches_that_stepped`), in one call: each `self.log` costs about a millisecond."""
        trainer = self.trainer
        if self._train_row is None or not trainer.loggers or trainer.fit_loop._should_accumulate():
            return
        if not (trainer._logger_connector.should_update_logs or trainer.fast_dev_run):
            return
        self._write_row(self._train_row)

    def _shows_loss(self) -> bool:
        """The per-step `loss` (progress bar only) is logged when a bar shows it or a callback monitors it."""
        trainer = self.trainer
        return trainer.progress_bar_callback is not None or "loss" in self._monitors()

    def _monitors(self) -> set:
        """The keys the callbacks (checkpoint, early stopping) and the plateau scheduler read."""
        monitors = {getattr(c, "monitor", None) for c in self.trainer.callbacks}
        return monitors | {self.optim_cfg.get("plateau_monitor")}

    # ---- evaluation --------------------------------------------------------------------------------
    def _stage_name(self, stage: str, dataloader_idx: int) -> str:
        if stage == "val":
            return "val"
        return self.trainer.datamodule.eval_split_names[dataloader_idx]

    def _eval_step(self, batch: dict, stage: str) -> None:
        out = self.output(batch)
        if self.loss_cfg.rnc_weight > 0:  # DeePAQ: `<stage>/rnc_loss` (batch mean) to select checkpoints on
            rnc = batch_rnc(out.features[:, 0], batch, self.aspects, self.loss_cfg, self.label_columns)
            self._rnc.setdefault(stage, []).append(float(rnc))
        rows = self._rows.setdefault(stage, EvalRows())
        final = self.trainer.state.fn != TrainerFn.FITTING  # trainer.validate/test, not fit's epochs
        features = out.features if self.collect_features and final else None
        rows.add(batch, self.denormalise(out.preds), features, stds=self.stds(out))

    def stds(self, out: ModelOutput) -> torch.Tensor | None:
        """(B, A) predicted rating spread (std) on the original scale, or None without a variance head."""
        return None if out.var is None else out.var.sqrt() * self.aspect_model.target_std

    def _eval_epoch_end(self) -> None:
        logged: dict[str, float] = {}  # every stage of this epoch end: one logger row, as Lightning writes it
        for stage, rows in self._rows.items():
            frame = gather_frames(rows.frame(self.aspects))
            clips = combine_windows(frame, self.aspects)
            metrics = split_metrics(clips, self.aspects, stage, self.domain_names, self.min_source_clips)
            if self.head_variance:
                metrics |= calibration_metrics(clips, self.aspects, stage)
            logged |= metrics  # identical on every rank: computed from the gathered rows
            self.eval_clips[stage] = clips
            self.last_metrics |= metrics
        if self._rnc:  # the RnC loss is averaged over ranks by Lightning (sync_dist): all keys go through it
            self.log_dict(logged)
        else:
            self._log_epoch(logged)
        for stage, values in self._rnc.items():  # DeePAQ: mean RnC loss over the stage's batches
            rnc = {f"{stage}/rnc_loss": float(torch.tensor(values).mean())}
            self.log_dict(rnc, sync_dist=True)
            self.last_metrics |= rnc
        self._rows, self._rnc = {}, {}

    def _log_epoch(self, metrics: dict[str, float]) -> None:
        """A stage's epoch metrics, as `self.log_dict(metrics)` would give them to the loggers (one row:
        float32 values, `epoch`, at Lightning's step; none while sanity checking), but in one call: each
        `self.log` costs about a millisecond and a stage has ~70 keys. Only the keys a callback or the
        plateau scheduler monitors go through `self.log` (logger=False), into `trainer.callback_metrics`."""
        trainer = self.trainer
        monitors = self._monitors()
        self.log_dict({k: v for k, v in metrics.items() if k in monitors}, logger=False)
        if trainer.sanity_checking or not trainer.loggers:
            return
        self._write_row({k: logged_value(v) for k, v in metrics.items()})

    def _write_row(self, row: dict[str, float]) -> None:
        """One logger row as Lightning's logger connector writes it: the values, `epoch`, at the step
        `_batches_that_stepped` (the step Lightning's own row would get), saved."""
        trainer = self.trainer
        row = row | {"epoch": trainer.current_epoch}
        step = trainer.fit_loop.epoch_loop._batches_that_stepped
        for logger in trainer.loggers:
            logger.log_metrics(row, step=step)
            logger.save()

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(batch, self._stage_name("test", dataloader_idx))

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end()

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end()

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict:
        out = self.output(batch)
        return {
            "ids": batch["ids"],
            "window": batch["window"],
            "weight": batch["weight"],
            "preds": self.denormalise(out.preds),
            "stds": self.stds(out),
        }

    def legacy_ordered_parameters(self) -> list[torch.nn.Parameter]:
        """Parameters in the order of the module before the per-aspect model (encoder, pools, projections,
        non-adversarial handlings, heads, adversaries): gradient clipping sums the norm in this order, so
        seeds reproduce the old runs to the last bit."""
        net = self.aspect_model

        def rank(name: str) -> int:
            if name.startswith("aspect_model.heads."):
                return 2
            if name.startswith("aspect_model.handlings."):
                return 3 if net.handlings[name.split(".")[2]].adversarial else 1
            return 0

        named = list(self.named_parameters())
        return [p for _, p in sorted(named, key=lambda item: rank(item[0]))]  # stable within a rank

    # ---- optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self):
        optim = self.optim_cfg
        encoder_params = [p for e in self.encoder_modules() for p in e.parameters() if p.requires_grad]
        encoder_ids = {id(p) for p in encoder_params}
        other = [p for p in self.legacy_ordered_parameters() if p.requires_grad and id(p) not in encoder_ids]
        groups = [{"params": other, "lr": optim.lr}]
        if encoder_params:
            groups.append({"params": encoder_params, "lr": optim.encoder_lr})
        # foreach: one kernel per step for all parameters (torch picks it on CUDA only; on CPU it is 5-10x
        # fewer ops for the many small tensors of the per-aspect model, the same arithmetic)
        optimizer = torch.optim.AdamW(groups, weight_decay=optim.weight_decay, foreach=True)
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

    def aspect_parameters(self) -> dict[str, list[torch.nn.Parameter]]:
        """{aspect: its own trainable parameters} (pools, projections, heads, handlings of the aspect
        model, keyed `<kind>.<ASPECT>.`); under screening (cached) these are all the trainable ones."""
        out: dict[str, list[torch.nn.Parameter]] = {a: [] for a in self.aspects}
        for name, p in self.aspect_model.named_parameters():
            parts = name.split(".")
            if p.requires_grad and len(parts) > 1 and parts[1] in out:
                out[parts[1]].append(p)
        return out

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        """Screening (cached): `norm` clipping per aspect, on each aspect's own parameters, so that no
        aspect's gradient scales another's (measured = deployed, docs/measured_deployed.md); else
        Lightning's global clipping."""
        if not (self.cached and gradient_clip_val and gradient_clip_algorithm in (None, "norm")):
            return super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        for params in self.aspect_parameters().values():
            if params:
                torch.nn.utils.clip_grad_norm_(params, gradient_clip_val)
        return None

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
