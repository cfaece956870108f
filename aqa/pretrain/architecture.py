"""The MERT-architecture config of a small encoder: one definition for the random tiny checkpoint
(`aqa.model.encoder.write_tiny_checkpoint`) and for a new encoder that `aqa pretrain` trains."""

from transformers import HubertConfig


def small_mert_config(sizes, mask_time_prob: float) -> HubertConfig:
    """`sizes`: anything with hidden_size, num_hidden_layers, num_attention_heads, intermediate_size and
    conv_dim (TinyEncoderConfig, PretrainSettings). mask_time_prob > 0 makes HubertModel hold the mask
    embedding that masked pretraining needs."""
    return HubertConfig(
        hidden_size=sizes.hidden_size,
        num_hidden_layers=sizes.num_hidden_layers,
        num_attention_heads=sizes.num_attention_heads,
        intermediate_size=sizes.intermediate_size,
        conv_dim=(sizes.conv_dim,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        layerdrop=0.0,
        mask_time_prob=mask_time_prob,
    )
