"""HuBERT-architecture encoder (MERT-v1-95M for real use, a tiny random one for tests), with LoRA/full/frozen modes."""

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file
from torch import nn
from transformers import HubertModel, Wav2Vec2FeatureExtractor

from aqa.config.model import EncoderConfig, TinyEncoderConfig
from aqa.model.masked_norm import install_masked_group_norm
from aqa.pretrain.architecture import small_mert_config
from aqa.pretrain.default import ensure_pretrained_tiny, pretrained_identity
from data_modules.atomic import atomic_path


def _tiny_config(enc: EncoderConfig) -> TinyEncoderConfig:
    """`enc.tiny` as the dataclass, whether the config is typed, a plain DictConfig or a dict."""
    tiny = enc.tiny
    if isinstance(tiny, TinyEncoderConfig):
        return tiny
    return TinyEncoderConfig(**(OmegaConf.to_container(tiny) if OmegaConf.is_config(tiny) else tiny))


def write_tiny_checkpoint(directory: str | Path, tiny: TinyEncoderConfig | None = None) -> Path:
    """Write a random MERT-architecture checkpoint (config.json, weights, preprocessor config) to `directory`.

    Loaded through the very same `HubertModel.from_pretrained` path as real MERT. Deterministic for `tiny.seed`.
    Written to a temporary folder first and renamed, so concurrent writers (DDP ranks, sweep trials) are safe.
    """
    tiny = tiny or TinyEncoderConfig()
    directory = Path(directory)
    if (directory / "config.json").is_file():
        return directory
    config = small_mert_config(tiny, mask_time_prob=0.0)
    with torch.random.fork_rng():
        torch.manual_seed(tiny.seed)
        model = HubertModel(config)
    try:
        with atomic_path(directory, directory=True) as tmp:
            # config + safetensors written directly: under a running process group, transformers'
            # save_pretrained writes weights only on rank 0, and any rank may be the first to need them
            config.save_pretrained(tmp)
            save_file(
                {k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors")
            )
            Wav2Vec2FeatureExtractor(sampling_rate=tiny.sample_rate, do_normalize=True).save_pretrained(tmp)
    except OSError:
        if not (directory / "config.json").is_file():  # else another process won the race: fine
            raise
    return directory


def resolve_encoder_path(enc: EncoderConfig) -> str:
    """Local directory or hub id to pass to `from_pretrained`; `tiny` is written (once) to the cache dir,
    `tiny-pretrained` pretrained (once) on the generated corpus's audio and cached there."""
    if enc.name == "tiny-pretrained":
        return str(ensure_pretrained_tiny(_tiny_config(enc), enc.cache_dir))
    if enc.name != "tiny":
        return enc.name
    tiny = _tiny_config(enc)
    digest = hashlib.sha1(json.dumps(asdict(tiny), sort_keys=True).encode()).hexdigest()[:10]
    path = Path(os.path.expanduser(enc.cache_dir)) / f"tiny-mert-{digest}"
    return str(write_tiny_checkpoint(path, tiny))


def _revision(enc: EncoderConfig) -> str | None:
    return None if Path(resolve_encoder_path(enc)).is_dir() else enc.revision


def encoder_identity(enc: EncoderConfig) -> dict:
    """What identifies the pretrained weights (for cache keys): name or tiny architecture, and revision."""
    if enc.name == "tiny":
        return {"name": "tiny", "tiny": asdict(_tiny_config(enc))}
    if enc.name == "tiny-pretrained":
        return {"name": enc.name, **pretrained_identity(_tiny_config(enc))}
    return {"name": enc.name, "revision": enc.revision}


def encoder_sample_rate(enc: EncoderConfig) -> int:
    """Input rate from the checkpoint's feature-extractor config (24 kHz for MERT)."""
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(resolve_encoder_path(enc), revision=_revision(enc))
    return int(extractor.sampling_rate)


def load_pretrained(enc: EncoderConfig) -> tuple[HubertModel, bool]:
    """The pretrained HubertModel (layerdrop and time masking off: they randomise depth and break DDP)."""
    path = resolve_encoder_path(enc)
    model = HubertModel.from_pretrained(path, revision=_revision(enc), layerdrop=0.0, mask_time_prob=0.0)
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(path, revision=_revision(enc))
    return model, bool(extractor.do_normalize)


class Encoder(nn.Module):
    """Waveform -> all hidden states. mode: lora (peft adapters), full, or frozen.

    forward(audio (B, T), lengths (B,)) -> hidden (L+1, B, F, H), frame_mask (B, F) bool
    """

    def __init__(self, enc: EncoderConfig, adapters: str | Path | None = None):
        """adapters: a peft adapter folder saved by `save_adapters` (lora mode) to start from."""
        super().__init__()
        base, self.normalize = load_pretrained(enc)
        # a plain list, so the layer is not registered twice (it already lives inside the HubertModel)
        self._first_conv = [install_masked_group_norm(base)]  # padding never reaches valid frames
        self.mode = enc.mode
        if enc.mode not in ("lora", "full", "frozen"):
            raise ValueError(f"model.encoder.mode must be lora|full|frozen, got {enc.mode!r}")
        if enc.mode == "frozen":
            base.requires_grad_(False)
        if enc.mode in ("lora", "frozen"):
            base.feature_extractor._freeze_parameters()  # else backprop still runs through the convs
        if getattr(base, "masked_spec_embed", None) is not None:
            base.masked_spec_embed.requires_grad_(False)  # only used by time masking (off): unused under DDP
        base.train()  # from_pretrained returns eval mode; Lightning switches modes from here on
        self.model = base
        if enc.mode == "lora":
            from peft import LoraConfig as PeftLoraConfig
            from peft import get_peft_model

            lora = enc.lora
            peft_cfg = PeftLoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=list(lora.target_modules),
            )
            if adapters is not None:
                from peft import PeftModel

                self.model = PeftModel.from_pretrained(base, str(adapters), is_trainable=True)
            else:
                self.model = get_peft_model(base, peft_cfg)
        self.num_layers = base.config.num_hidden_layers + 1  # + the projected conv features
        self.hidden_size = base.config.hidden_size

    @property
    def base(self) -> HubertModel:
        """The HubertModel inside (under lora, the one peft wraps)."""
        return self.model.get_base_model() if self.mode == "lora" else self.model

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.base._get_feat_extract_output_lengths(lengths).long()

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # (B, T) sample mask
        mask = torch.arange(audio.shape[1], device=audio.device)[None, :] < lengths[:, None]
        if self.normalize:  # zero mean, unit variance over the valid samples of each clip only
            n = lengths.clamp(min=1)[:, None].to(audio.dtype)
            mean = (audio * mask).sum(1, keepdim=True) / n
            var = (((audio - mean) * mask) ** 2).sum(1, keepdim=True) / n
            audio = (audio - mean) / torch.sqrt(var + 1e-7) * mask
        first_conv = self._first_conv[0]
        if first_conv is not None:
            first_conv.lengths = lengths
        try:
            out = self.model(input_values=audio, attention_mask=mask.long(), output_hidden_states=True)
        finally:
            if first_conv is not None:
                first_conv.lengths = None
        hidden = torch.stack(out.hidden_states)  # (L+1, B, F, H)
        frames = self.frame_lengths(lengths)
        frame_mask = torch.arange(hidden.shape[2], device=audio.device)[None, :] < frames[:, None]
        return hidden, frame_mask

    def save_adapters(self, directory: str | Path) -> None:
        """peft-format adapters on their own (lora mode only)."""
        if self.mode != "lora":
            raise ValueError("adapters exist only in lora mode")
        self.model.save_pretrained(str(directory))

    def merged(self) -> HubertModel:
        """A plain HubertModel with the adapters merged in (for export)."""
        return self.model.merge_and_unload() if self.mode == "lora" else self.base
