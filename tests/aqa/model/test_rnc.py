"""Rank-N-Contrast: the vectorised loss against a direct loop over the formula, and its edge cases."""

import math

import pytest
import torch

from aqa.model.rnc import deepaq_rnc, label_differences, rnc_loss


def loop_rnc(emb: torch.Tensor, labels: list[float], t: float = 1.0) -> float:
    """The formula written out: rows with NaN labels dropped, <2 distinct labels -> 0."""
    rows = [i for i, y in enumerate(labels) if not math.isnan(y)]
    if len({labels[i] for i in rows}) < 2:
        return 0.0

    def ldiff(a: float, b: float) -> float:
        return 0.0 if a == b else abs(a - b)

    def d(i: int, j: int) -> float:
        return float(torch.linalg.norm(emb[i].double() - emb[j].double()))

    total = 0.0
    for i in rows:
        acc = 0.0
        others = [j for j in rows if j != i]
        for j in others:
            denom = sum(
                math.exp(-d(i, k) / t)
                for k in others
                if ldiff(labels[i], labels[k]) >= ldiff(labels[i], labels[j])
            )
            acc += -math.log(math.exp(-d(i, j) / t) / denom)
        total += acc / len(others)
    return total / len(rows)


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_equals_loop_on_random_batches(seed):
    gen = torch.Generator().manual_seed(seed)
    batch = 3 + seed
    emb = torch.randn(batch, 5, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 4, (batch,), generator=gen).double()  # few values: ties on purpose
    t = [1.0, 2.0][seed % 2]
    assert float(rnc_loss(emb, labels, t)) == pytest.approx(loop_rnc(emb, labels.tolist(), t), abs=1e-6)


def test_bitrate_labels_with_clean_inf_and_missing_rows():
    gen = torch.Generator().manual_seed(3)
    emb = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    bitrate = torch.tensor([16, 128, math.inf, 64, math.inf, math.nan, 16], dtype=torch.float64)
    expected = loop_rnc(emb, bitrate.tolist())
    assert float(rnc_loss(emb, bitrate)) == pytest.approx(expected, abs=1e-6)
    assert math.isfinite(expected) and expected > 0


def test_inf_label_differences():
    ld = label_differences(torch.tensor([math.inf, math.inf, 32.0, 128.0]))
    assert ld[0, 1] == 0 and ld[0, 2] == math.inf and ld[2, 3] == 96
    # a clean reference is farther from a 128 kbps clip than 16 kbps is: clean ranks above every bitrate
    assert ld[3, 0] > ld[3, 2]


def test_edge_cases_are_defined():
    emb = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    one_label = torch.full((5,), 3.0, dtype=torch.float64)
    assert float(rnc_loss(emb, one_label)) == 0.0
    only_clean = torch.tensor([math.inf] * 3 + [math.nan] * 2, dtype=torch.float64)
    assert float(rnc_loss(emb, only_clean)) == 0.0  # a batch without coded samples: nothing to rank
    assert float(rnc_loss(emb, torch.full((5,), math.nan, dtype=torch.float64))) == 0.0
    visqol = torch.tensor([4.7, 3.0, 2.0, 4.7, 1.5], dtype=torch.float64)
    total = deepaq_rnc(emb, visqol, only_clean)
    assert float(total) == pytest.approx(float(rnc_loss(emb, visqol)), abs=1e-12)
    total.backward()
    assert torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0


def test_loss_prefers_embeddings_ordered_like_labels():
    labels = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    ordered = labels[:, None] * torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    shuffled = ordered[torch.tensor([3, 0, 4, 1, 2])]
    assert float(rnc_loss(ordered, labels)) < float(rnc_loss(shuffled, labels))


def _loss(**loss):
    """A `loss:` section; the batches' label columns are ["bitrate"]."""
    from omegaconf import OmegaConf

    base = {"rnc_labels": [], "rnc_bitrate": None, "rnc_temperature": 1.0}
    return OmegaConf.create(base | loss)


def test_batch_rnc_sums_the_label_terms():
    from aqa.model.rnc import batch_rnc

    gen = torch.Generator().manual_seed(0)
    emb = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    visqol = torch.tensor([4.7, 3.1, 2.0, 4.7, 1.5, 3.3], dtype=torch.float64)
    bitrate = torch.tensor([math.inf, 16, 32, math.inf, 16, 128], dtype=torch.float64)
    batch = {"targets": visqol[:, None], "labels": bitrate[:, None]}
    both = batch_rnc(emb, batch, ["visqol"], _loss(rnc_bitrate="bitrate"), ["bitrate"])
    assert float(both) == pytest.approx(float(deepaq_rnc(emb, visqol, bitrate)), abs=1e-9)
    only_aspects = batch_rnc(emb, batch, ["visqol"], _loss(), ["bitrate"])  # [] = every aspect
    assert float(only_aspects) == pytest.approx(float(rnc_loss(emb, visqol)), abs=1e-9)
    with pytest.raises(ValueError, match="data.label_columns"):
        batch_rnc(emb, batch, ["visqol"], _loss(rnc_bitrate="kbps"), ["bitrate"])
    with pytest.raises(ValueError, match="not in data.aspects"):
        batch_rnc(emb, batch, ["visqol"], _loss(rnc_labels=["MOS"]), ["bitrate"])
