"""Masked prediction of k-means codes plus masked log-mel reconstruction (HuBERT iteration 1 + MERT's spectral
term) for a HubertModel; writes a Hugging Face folder that `HubertModel.from_pretrained` loads like MERT."""

import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors.torch import save_file
from torch import nn
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

from aqa.pretrain.architecture import small_mert_config
from aqa.pretrain.data import (
    HOP,
    RECEPTIVE_FIELD,
    assign,
    find_audio,
    fit_clusters,
    frames,
    load_clips,
    log_mel,
)
from aqa.pretrain.settings import PretrainSettings
from data_modules.atomic import atomic_path
from data_modules.errors import UserError


class Pretrainer(nn.Module):
    """The encoder with a code classifier and a log-mel regressor on its last hidden state.

    forward(audio (B, T), mask (B, F) bool) -> logits (B, F, K), mel (B, F, M)
    """

    def __init__(self, encoder: HubertModel, clusters: int, n_mels: int):
        super().__init__()
        self.encoder = encoder
        self.classify = nn.Linear(encoder.config.hidden_size, clusters)
        self.reconstruct = nn.Linear(encoder.config.hidden_size, n_mels)

    def forward(self, audio: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_values=audio, mask_time_indices=mask).last_hidden_state
        return self.classify(hidden), self.reconstruct(hidden)


def new_encoder(s: PretrainSettings) -> HubertModel:
    """A random MERT-architecture encoder of the settings' size (seeded)."""
    config = small_mert_config(
        s, mask_time_prob=0.05
    )  # MERT's value; it makes HubertModel hold the mask embedding
    torch.manual_seed(s.seed)
    return HubertModel(config)


def load_encoder(source: str) -> tuple[HubertModel, int]:
    """(encoder, sample rate) from a Hugging Face folder or hub id (continued pretraining)."""
    try:
        config = HubertConfig.from_pretrained(source)
        encoder = HubertModel.from_pretrained(
            source, layerdrop=0.0, mask_time_prob=max(float(config.mask_time_prob), 0.05)
        )
        rate = int(Wav2Vec2FeatureExtractor.from_pretrained(source).sampling_rate)
    except OSError as err:
        raise UserError(f"--from {source}: cannot load a HubertModel checkpoint ({err})") from None
    return encoder, rate


def span_mask(batch: int, count: int, s: PretrainSettings, g: torch.Generator) -> torch.Tensor:
    """(B, F) bool: spans of `mask_length` frames starting where a uniform draw is below `mask_prob`;
    at least one masked frame per row."""
    starts = torch.rand(batch, count, generator=g) < s.mask_prob
    starts[torch.arange(batch), torch.randint(count, (batch,), generator=g)] = True
    kernel = torch.ones(1, 1, s.mask_length)
    spread = torch.nn.functional.conv1d(starts.float()[:, None], kernel, padding=s.mask_length - 1)
    return spread[:, 0, :count] > 0


def _lr(s: PretrainSettings, step: int) -> float:
    """Linear warm-up, then cosine decay to 0."""
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(s.steps - s.warmup_steps, 1)
    return s.lr * 0.5 * (1 + math.cos(math.pi * progress))


def _batch(clips, codes, mels, seg_frames: int, s: PretrainSettings, step: int):
    """Crops for one step, drawn from a generator seeded by (seed, step): resuming draws the same ones."""
    g = torch.Generator().manual_seed(s.seed * 1_000_003 + step)
    seg_samples = RECEPTIVE_FIELD + HOP * (seg_frames - 1)
    picks = torch.randint(len(clips), (s.batch_size,), generator=g).tolist()
    audio, targets, spectra = [], [], []
    for i in picks:
        first = int(torch.randint(len(codes[i]) - seg_frames + 1, (1,), generator=g))
        wav = clips[i][HOP * first : HOP * first + seg_samples]
        wav = (wav - wav.mean()) / np.sqrt(wav.var() + 1e-7)  # the extractor's do_normalize
        audio.append(torch.from_numpy(wav))
        targets.append(torch.from_numpy(codes[i][first : first + seg_frames]))
        spectra.append(torch.from_numpy(mels[i][first : first + seg_frames]))
    mask = span_mask(s.batch_size, seg_frames, s, g)
    return torch.stack(audio), torch.stack(targets), torch.stack(spectra), mask


def identity(source: str, s: PretrainSettings, start: str | None) -> str:
    """Digest of what a run is: its audio list, settings and starting checkpoint (resume must match it)."""
    paths = find_audio(source)
    text = json.dumps({"paths": paths, "settings": asdict(s), "from": start}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def resume_path(out: str | Path) -> Path:
    """Where a run keeps its resumable state (beside the output folder; removed when the run finishes)."""
    out = Path(out)
    return out.with_name(f"{out.name}.resume.pt")


def pretrain(
    source: str | Path,
    out: str | Path,
    s: PretrainSettings | None = None,
    start: str | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> dict:
    """Pretrain on the audio under `source` (folder or manifest) and write the encoder folder `out`.

    start: a Hugging Face folder or id to continue pretraining from (else a new tiny encoder of `s`).
    stop_after: stop after this step (the resumable state is kept; the folder is not written): for tests
    and for splitting a long run. A later call with the same arguments resumes from the state.
    Returns a summary: steps run, losses (one per step), clips used, skipped files.
    """
    s = s or PretrainSettings()
    out = Path(out)
    if out.exists() and any(out.iterdir() if out.is_dir() else [out]):
        raise UserError(f"{out} already exists: choose another --out or remove it")
    run_id = identity(str(source), s, start)
    clips_paths = find_audio(source)
    if start is not None:
        encoder, rate = load_encoder(start)
    else:
        encoder, rate = new_encoder(s), s.sample_rate
    clips, skipped = load_clips(clips_paths, rate)
    mels = [log_mel(c, rate, s.n_mels) for c in clips]
    shortest = min(len(m) for m in mels)
    seg_frames = min(frames(int(s.segment_seconds * rate)), shortest)
    state_file = resume_path(out)
    state = None
    if state_file.is_file():
        state = torch.load(state_file, weights_only=False)
        if state["id"] != run_id:
            raise UserError(f"{state_file} belongs to another run (other audio or settings): remove it")
        centres, mean, std = state["centres"], state["mean"], state["std"]
    else:
        centres, mean, std = fit_clusters(mels, s.clusters, s.seed)
    codes = [assign(m, centres, mean, std) for m in mels]
    norm_mels = [((m - mean) / std).astype(np.float32) for m in mels]

    model = Pretrainer(encoder, s.clusters, s.n_mels)
    torch.manual_seed(s.seed + 1)
    model.classify.reset_parameters()
    model.reconstruct.reset_parameters()
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=0.01)
    first, losses = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        torch.set_rng_state(state["rng"])
        first, losses = state["step"], list(state["losses"])

    def save_state(step: int) -> None:
        with atomic_path(state_file) as tmp:
            torch.save(
                {
                    "id": run_id,
                    "step": step,
                    "model": model.state_dict(),
                    "optim": optim.state_dict(),
                    "rng": torch.get_rng_state(),
                    "losses": losses,
                    "centres": centres,
                    "mean": mean,
                    "std": std,
                },
                tmp,
            )

    last = s.steps if stop_after is None else min(stop_after, s.steps)
    columns = [
        TextColumn("pretrain"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"),
    ]
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("pretrain", total=s.steps, completed=first, loss="-")
        for step in range(first, last):
            audio, targets, spectra, mask = _batch(clips, codes, norm_mels, seg_frames, s, step)
            logits, recon = model(audio, mask)
            n = min(logits.shape[1], targets.shape[1])
            m = mask[:, :n]
            ce = nn.functional.cross_entropy(logits[:, :n][m], targets[:, :n][m])
            mse = nn.functional.mse_loss(recon[:, :n][m], spectra[:, :n][m])
            loss = ce + s.recon_weight * mse
            for group in optim.param_groups:
                group["lr"] = _lr(s, step)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            losses.append([float(ce.detach()), float(mse.detach())])
            bar.update(task, advance=1, loss=f"{float(loss.detach()):.3f}")
            if (step + 1) % s.checkpoint_every == 0 or step + 1 == last:
                save_state(step + 1)
    summary = {"steps": last, "losses": losses, "clips": len(clips), "skipped": skipped, "frames": seg_frames}
    if last < s.steps:
        return summary
    write_encoder(model.encoder, rate, out, {"settings": asdict(s), "from": start, **summary})
    state_file.unlink(missing_ok=True)
    return summary


def write_encoder(encoder: HubertModel, rate: int, out: Path, info: dict) -> None:
    """config.json + model.safetensors + preprocessor_config.json (+ pretrain.json), atomically."""
    with atomic_path(out, directory=True) as tmp:
        encoder.config.save_pretrained(tmp)
        weights = {k: v.detach().contiguous() for k, v in encoder.state_dict().items()}
        save_file(weights, str(tmp / "model.safetensors"))
        Wav2Vec2FeatureExtractor(sampling_rate=rate, do_normalize=True).save_pretrained(tmp)
        (tmp / "pretrain.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
