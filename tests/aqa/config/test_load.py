import pytest

from aqa.config import load_config
from aqa.config.load import ConfigError


def test_defaults_come_from_schema():
    cfg = load_config(None, [])
    assert cfg.model.encoder.lora.r == 8 and cfg.model.encoder.lora.alpha == 16
    assert list(cfg.model.encoder.lora.target_modules) == ["q_proj", "v_proj"]


@pytest.mark.parametrize(
    "override, key", [("trainer.max_epoch=3", "trainer.max_epoch"), ("modle.pooling=x", "modle")]
)
def test_unknown_override_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_unknown_key_in_yaml_names_the_key(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("data:\n  batch_sise: 4\n")
    with pytest.raises(ConfigError, match=r"data\.batch_sise"):
        load_config(path, [])


def test_bad_value_type_is_an_error():
    with pytest.raises(ConfigError, match=r"data\.batch_size"):
        load_config(None, ["data.batch_size=many"])


def test_definer_shorthands():
    cfg = load_config(None, ["domain.definer=kmeans", "domain.definer.k=4", "domain.definers.PQ=dataset"])
    assert cfg.domain.definer.name == "kmeans" and cfg.domain.definer.k == 4
    assert cfg.domain.definers.PQ.name == "dataset" and cfg.domain.definers.PQ.k is None


def test_wandb_style_double_dash_is_accepted():
    assert load_config(None, ["--seed=3"]).seed == 3
