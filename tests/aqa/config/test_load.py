from pathlib import Path

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


def _selection(tmp_path, text: str) -> str:
    path = tmp_path / "selection.yaml"
    path.write_text(text)
    return f"domain.selection={path}"


def test_selection_expands_into_per_aspect_definers_over_the_base(tmp_path):
    selection = _selection(tmp_path, "PQ: {definer: {name: kmeans, k: 4}}\nPC: {definer: {name: none}}\n")
    cfg = load_config(None, ["data.aspects=[PQ,PC,CE]", "domain.definer.reduce_dim=8", selection])
    assert (cfg.domain.definers.PQ.name, cfg.domain.definers.PQ.k) == ("kmeans", 4)
    assert cfg.domain.definers.PQ.reduce_dim == 8  # fields the file leaves out keep domain.definer's
    assert cfg.domain.definers.PC.name == "none" and "CE" not in cfg.domain.definers


def test_selection_old_flat_format_and_explicit_settings_win(tmp_path):
    selection = _selection(tmp_path, "PQ: {name: gmm, k: 3}\nPC: {name: kmeans}\n")
    cfg = load_config(None, ["data.aspects=[PQ,PC]", selection, "domain.definers.PC=dataset"])
    assert (cfg.domain.definers.PQ.name, cfg.domain.definers.PQ.k) == ("gmm", 3)
    assert cfg.domain.definers.PC.name == "dataset"


def test_selection_naming_an_unknown_aspect_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"\['XX'\] not in data.aspects"):
        load_config(None, ["data.aspects=[PQ]", _selection(tmp_path, "XX: {definer: {name: none}}\n")])


def test_selection_model_settings_become_per_aspect_overrides():
    from aqa.config.load import selection_settings

    entries = {"PQ": {"definer": {"name": "kmeans"}, "model": {"lambda_max": 0.5, "gamma": 3.0}}, "PC": {}}
    settings = selection_settings(entries, "s.yaml")
    assert settings == {"PQ": ({"name": "kmeans"}, {"lambda_max": 0.5, "gamma": 3.0}), "PC": ({}, {})}


def test_shipped_selection_files_expand_into_a_mixed_per_aspect_model():
    """sweeps/selections/*.yaml are `domain.selection` files (not sweeps): each one loads and sets every aspect."""
    files = sorted((Path(__file__).parents[3] / "sweeps" / "selections").glob("*.yaml"))
    assert files
    for path in files:
        cfg = load_config(
            Path(__file__).parents[3] / "experiments" / "quickstart.yaml", [f"domain.selection={path}"]
        )
        assert set(cfg.domain.definers) == set(cfg.data.aspects), path
    argmax = load_config(None, [f"domain.selection={files[0].parent / 'quickstart_argmax.yaml'}"])
    assert (argmax.domain.definers.PC.name, argmax.domain.definers.PC.k) == ("gmm", 4)
    assert (
        argmax.domain.definers.CU.name == "dataset"
        and argmax.model.aspects.CU.domain_handling == "conditioned"
    )


def test_a_definers_handling_sets_the_domain_handling_of_its_aspects():
    """One sweep value names a whole strategy: `domain.definer={name: dataset, handling: bias}`."""
    cfg = load_config(None, ["domain.definer={'name': 'dataset', 'handling': 'bias'}"])
    assert cfg.model.domain_handling == "bias"
    cfg = load_config(
        None,
        [
            "domain.definers.PQ={'name': 'dataset', 'handling': 'conditioned'}",
            "domain.definers.PC={'name': 'dataset', 'handling': 'conditioned'}",
            "model.aspects.PC.domain_handling=adversarial",  # explicit per-aspect setting wins
        ],
    )
    assert cfg.model.domain_handling == "adversarial"
    assert cfg.model.aspects.PQ.domain_handling == "conditioned"
    assert cfg.model.aspects.PC.domain_handling == "adversarial"
    assert load_config(None, []).model.aspects == {}
