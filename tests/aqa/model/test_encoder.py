import json

import pytest
import torch

from aqa.config import load_config
from aqa.model.encoder import Encoder, encoder_sample_rate, load_pretrained, resolve_encoder_path
from aqa.model.module import AQAModule
from aqa.model.sections import module_sections


@pytest.fixture
def cfg(tiny_overrides):
    return load_config(None, tiny_overrides)


def test_tiny_checkpoint_loads_through_from_pretrained(cfg):
    path = resolve_encoder_path(cfg.model.encoder)
    config = json.loads((__import__("pathlib").Path(path) / "config.json").read_text())
    assert config["model_type"] == "hubert" and config["layerdrop"] == 0.0
    assert encoder_sample_rate(cfg.model.encoder) == 24000
    model, normalise = load_pretrained(cfg.model.encoder)
    assert model.config.mask_time_prob == 0.0 and normalise


def test_all_hidden_states_and_frame_mask(cfg):
    enc = Encoder(cfg.model.encoder)
    hidden, mask = enc(torch.randn(2, 24000), torch.tensor([24000, 12000]))
    assert hidden.shape[0] == enc.num_layers == cfg.model.encoder.tiny.num_hidden_layers + 1
    assert mask[0].all() and mask[1].sum() < mask[0].sum()


def test_padding_does_not_change_valid_clip_output(cfg):
    """MERT's first conv GroupNorm would mix padding into every frame; the masked norm prevents it."""
    enc = Encoder(cfg.model.encoder).eval()
    audio = torch.randn(1, 16000)
    alone, _ = enc(audio, torch.tensor([16000]))
    padded = torch.cat([audio, torch.zeros(1, 8000)], dim=1)
    with_pad, mask = enc(padded, torch.tensor([16000]))
    n = int(mask.sum())
    assert n == alone.shape[2]
    assert torch.allclose(with_pad[:, :, :n], alone, atol=1e-5)


def test_only_lora_heads_and_adversaries_train_under_lora(cfg):
    module = AQAModule(
        **module_sections(cfg),
        num_domains={"PQ": 3, "PC": 0, "CE": 1, "CU": 2},
        target_mean=[5.0] * 4,
        target_std=[1.0] * 4,
    )
    trainable = [n for n, p in module.named_parameters() if p.requires_grad]
    assert trainable, "nothing trains"
    for name in trainable:
        assert "lora_" in name or name.startswith(
            ("aspect_model.pools.", "aspect_model.heads.", "aspect_model.handlings.")
        ), name
    assert any("lora_A" in n for n in trainable) and any("lora_B" in n for n in trainable)
    assert sorted(module.adversaries) == ["CU", "PQ"]  # K<2 -> no adversary
    assert not any(p.requires_grad for p in module.encoder.base.feature_extractor.parameters())


@pytest.mark.parametrize("mode", ["full", "frozen"])
def test_full_and_frozen_modes(cfg, mode):
    cfg.model.encoder.mode = mode
    enc = Encoder(cfg.model.encoder)
    convs = list(enc.base.feature_extractor.parameters())
    if mode == "full":
        assert all(p.requires_grad for p in convs)
    else:
        assert not any(p.requires_grad for p in enc.parameters())


def test_adapters_round_trip_and_merge(cfg, tmp_path):
    enc = Encoder(cfg.model.encoder).eval()
    with torch.no_grad():  # make the adapters non-trivial (B starts at zero)
        for name, p in enc.named_parameters():
            if "lora_B" in name:
                p.normal_()
    audio, lengths = torch.randn(2, 12000), torch.tensor([12000, 9000])
    expected, _ = enc(audio, lengths)
    enc.save_adapters(tmp_path / "adapters")
    assert (tmp_path / "adapters" / "adapter_config.json").is_file()
    reloaded = Encoder(cfg.model.encoder, adapters=tmp_path / "adapters").eval()
    got, _ = reloaded(audio, lengths)
    assert torch.allclose(got, expected, atol=1e-5)
    plain = Encoder(cfg.model.encoder).eval()(audio, lengths)[0]
    assert not torch.allclose(plain, expected, atol=1e-3)  # the adapters do change the output
    merged = enc.merged().eval()  # a plain HubertModel, adapters folded into the weights
    assert not any("lora" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        x = audio[:1]
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
        out = merged(input_values=x, output_hidden_states=True)
    assert torch.allclose(torch.stack(out.hidden_states), expected[:, :1], atol=1e-4)
