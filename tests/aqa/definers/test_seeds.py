"""`domain.definer.seed: null` (the default) follows the run's `seed`; an explicit seed does not."""

from aqa.definers.labels import fit_domain_labels
from tests.aqa.stage_args import domain_label_args


def random_partition(make_cfg, table, folder, *overrides):
    cfg = make_cfg("domain.definer=random", "domain.definer.k=4", *overrides)
    return fit_domain_labels(cfg.domain, table, folder, None, **domain_label_args(cfg)).labels["PQ"].tolist()


def test_run_seed_drives_random_labels_unless_the_definer_seed_is_set(make_cfg, make_table, tmp_path):
    table = make_table(120)
    seed0 = random_partition(make_cfg, table, tmp_path / "a", "seed=0")
    seed1 = random_partition(make_cfg, table, tmp_path / "b", "seed=1")
    assert seed0 != seed1  # two run seeds, two partitions
    assert random_partition(make_cfg, table, tmp_path / "c", "seed=1") == seed1  # deterministic
    fixed0 = random_partition(make_cfg, table, tmp_path / "d", "seed=0", "domain.definer.seed=5")
    fixed1 = random_partition(make_cfg, table, tmp_path / "e", "seed=1", "domain.definer.seed=5")
    assert fixed0 == fixed1  # explicit definer seed: the run seed does not matter


def test_run_seed_drives_kmeans(make_cfg, blobs, make_table, monkeypatch, tmp_path):
    import aqa.definers.labels as labels_module

    features, truth = blobs(120, 6, dim=8, spread=0.5)  # overlapping blobs: k-means depends on its seed
    monkeypatch.setattr(labels_module, "compute_features", lambda settings, table, rate, spec: features)
    table = make_table(120, truth=truth)
    fits = {}
    for seed in range(4):
        cfg = make_cfg("domain.definer=kmeans", "domain.definer.k=5", f"seed={seed}")
        labels = fit_domain_labels(cfg.domain, table, tmp_path / f"k{seed}", 24000, **domain_label_args(cfg))
        fits[seed] = labels.definer("PQ").cfg.seed, labels.labels["PQ"].tolist()
    assert [s for s, _ in fits.values()] == [0, 1, 2, 3]  # the stored definer config carries the run seed
    assert len({tuple(labels) for _, labels in fits.values()}) > 1
