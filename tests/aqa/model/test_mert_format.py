"""Contract with the published MERT-v1-95M checkpoint format, at small dimensions.

The snapshot has MERT's config.json fields (model_type `mert_model`, `auto_map` to its remote code, its extra
fields), its preprocessor_config.json (24 kHz) and weights under the transformers-4.2x names MERT was saved
with (`encoder.pos_conv_embed.conv.weight_g`/`weight_v`, `masked_spec_embed`, no `hubert.` prefix), as
`pytorch_model.bin`. aqa's own encoder path must load it with every weight restored and all hidden states.
"""

import json

import pytest
import torch
from transformers import HubertConfig, HubertModel

from aqa.config.model import EncoderConfig
from aqa.model.encoder import Encoder, encoder_sample_rate

SMALL = {  # MERT-v1-95M is 768 / 12 layers / 12 heads / 3072 / conv 512 / pos conv 128 in 16 groups
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "conv_dim": [32] * 7,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "classifier_proj_size": 16,
}

MERT_CONFIG = {  # the fields of MERT-v1-95M's config.json, its sizes replaced by SMALL
    "_name_or_path": "m-a-p/MERT-v1-95M",
    "activation_dropout": 0.1,
    "apply_spec_augment": True,
    "architectures": ["MERTModel"],
    "attention_dropout": 0.1,
    "attention_relax": -1.0,
    "auto_map": {"AutoConfig": "configuration_MERT.MERTConfig", "AutoModel": "modeling_MERT.MERTModel"},
    "bos_token_id": 1,
    "conv_bias": False,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_pos_batch_norm": False,
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "ctc_loss_reduction": "sum",
    "ctc_zero_infinity": False,
    "deepnorm": False,
    "do_stable_layer_norm": False,
    "eos_token_id": 2,
    "feat_extract_activation": "gelu",
    "feat_extract_norm": "group",
    "feat_proj_dropout": 0.0,
    "feat_proj_layer_norm": True,
    "feature_extractor_cqt": False,
    "feature_extractor_cqt_bins": 336,
    "final_dropout": 0.1,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout": 0.1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-05,
    "layerdrop": 0.1,
    "mask_feature_length": 10,
    "mask_feature_min_masks": 0,
    "mask_feature_prob": 0.0,
    "mask_time_length": 10,
    "mask_time_min_masks": 2,
    "mask_time_prob": 0.05,
    "model_type": "mert_model",
    "num_feat_extract_layers": 7,
    "pad_token_id": 0,
    "sample_rate": 24000,
    "tokenizer_class": "Wav2Vec2CTCTokenizer",
    "torch_dtype": "float32",
    "transformers_version": "4.25.1",
    "use_weighted_layer_sum": False,
    "vocab_size": 32,
    **SMALL,
}

PREPROCESSOR = {
    "do_normalize": True,
    "feature_extractor_type": "Wav2Vec2FeatureExtractor",
    "feature_size": 1,
    "padding_side": "right",
    "padding_value": 0,
    "return_attention_mask": True,
    "sampling_rate": 24000,
}

# today's parametrized weight norm -> the names MERT's weights were saved under
OLD_NAMES = {"parametrizations.weight.original0": "weight_g", "parametrizations.weight.original1": "weight_v"}


def _old_name(key: str) -> str:
    for new, old in OLD_NAMES.items():
        key = key.replace(new, old)
    return key


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """-> (folder, the saved state dict under the old names)."""
    folder = tmp_path_factory.mktemp("mert-v1-small")
    config = {k: v for k, v in MERT_CONFIG.items() if k not in ("model_type", "architectures", "auto_map")}
    torch.manual_seed(0)
    model = HubertModel(HubertConfig(**config))  # builds masked_spec_embed (mask_time_prob > 0), as MERT
    state = {_old_name(k): v.detach().clone() for k, v in model.state_dict().items()}
    assert "encoder.pos_conv_embed.conv.weight_g" in state and "masked_spec_embed" in state
    state["encoder.pos_conv_embed.conv.weight_g"] = torch.rand_like(
        state["encoder.pos_conv_embed.conv.weight_g"]
    )
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(MERT_CONFIG, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))
    return folder, state


def test_aqa_encoder_restores_every_saved_weight(snapshot):
    folder, state = snapshot
    enc = EncoderConfig(name=str(folder), mode="frozen")
    assert encoder_sample_rate(enc) == 24000
    base = Encoder(enc).base
    loaded = base.state_dict()
    missing = [k for k in loaded if _old_name(k) not in state]
    assert not missing, missing
    for key, value in loaded.items():
        assert torch.equal(value, state[_old_name(key)]), key
    # the weight-norm pair restored: the conv's effective weight is g * v / ||v|| (norm over all dims but 2)
    g, v = state["encoder.pos_conv_embed.conv.weight_g"], state["encoder.pos_conv_embed.conv.weight_v"]
    expected = g * v / v.norm(dim=(0, 1), keepdim=True)
    assert torch.allclose(base.encoder.pos_conv_embed.conv.weight, expected, atol=1e-6)


def test_aqa_encoder_gives_every_hidden_state(snapshot):
    folder, _ = snapshot
    encoder = Encoder(EncoderConfig(name=str(folder), mode="frozen"))
    hidden, mask = encoder(torch.randn(2, 24000), torch.tensor([24000, 16000]))
    assert hidden.shape[0] == encoder.num_layers == SMALL["num_hidden_layers"] + 1
    assert hidden.shape[-1] == SMALL["hidden_size"] and torch.isfinite(hidden).all()
    assert mask[0].all() and mask[1].sum() < mask[0].sum()
