"""The build steps of `aqa train` (aqa/training/train.py): target statistics, domain K and class weights
are fitted on the training rows that actually train, and the data module is built with its labels."""

import numpy as np
import pandas as pd
import pytest

from aqa.config import load_config
from aqa.definers.labels import fit_labels
from aqa.definers.resolve import resolve_definers
from aqa.model.encoder import encoder_sample_rate
from aqa.training.train import build_data, build_domain_labels, build_model, build_table, label_rows
from data_modules.manifest import load_table
from tests.aqa.stage_args import label_args
from tests.aqa.training.conftest import write_small_manifest


def test_a_source_whose_train_clips_are_all_skipped_counts_no_domain(tmp_path, tiny_overrides):
    manifest = write_small_manifest(tmp_path)
    table = pd.read_csv(manifest)
    dead = table[(table["dataset"] == "source2") & (table["split"] == "train")]
    for name in dead["path"]:
        (tmp_path / name).write_bytes(b"not audio")  # every train clip of source2 is unreadable
    cfg = load_config(
        None,
        [
            *tiny_overrides,
            f"data.manifest={manifest}",
            f"data.cache_dir={tmp_path}/cache",
            "data.max_skip_fraction=0.5",
            "domain.definer=dataset",
            "domain.class_weights=true",
            "metrics.min_source_clips=3",  # the 9 val clips: 3 per source (else the monitor is refused)
        ],
    )
    sample_rate = encoder_sample_rate(cfg.model.encoder)
    rows = build_table(cfg, sample_rate)
    domains = build_domain_labels(cfg, rows, tmp_path / "run", sample_rate)
    labelled = label_rows(cfg, rows, domains)
    datamodule = build_data(cfg, labelled, sample_rate)
    module = build_model(cfg, labelled.table, domains)
    mean, std = module.target_mean.tolist(), module.target_std.tolist()

    assert len(rows.skipped) == len(datamodule.skipped) == len(dead) == 12
    assert datamodule.table is labelled.table  # built complete: no setup() needed, nothing set later
    with pytest.raises(ValueError, match="same rows"):
        rows.with_table(rows.table.iloc[::-1])  # labels go with the rows they were fitted on
    assert domains.num_domains == {a: 2 for a in cfg.data.aspects}
    assert domains.names["PQ"] == ["source0", "source1"]
    assert all(len(w) == 2 for w in domains.class_weights.values())
    usable_train = table[(table["split"] == "train") & ~table["id"].isin(dead["id"])]
    np.testing.assert_allclose(mean, usable_train[list(cfg.data.aspects)].mean().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(std, usable_train[list(cfg.data.aspects)].std(ddof=0).to_numpy(), rtol=1e-6)
    # the labels travel with the data module's rows; source2's val/test rows were never seen in train: -1
    labelled = datamodule.table.set_index("id")["domain_PQ"]
    assert (labelled[datamodule.table.set_index("id")["dataset"] == "source2"] == -1).all()
    assert set(labelled[datamodule.table.set_index("id")["split"] == "train"]) == {0, 1}

    # fitted on the whole table (before the data module drops the dead clips), K would count source2
    specs = resolve_definers(cfg.domain, list(cfg.data.aspects))
    before = fit_labels(cfg.domain, load_table(cfg.data), specs, **label_args(cfg))
    assert before.num_domains["PQ"] == 3
