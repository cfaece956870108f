"""Rank-N-Contrast (Zha et al., NeurIPS 2023) as DeePAQ uses it: L2 distances between embeddings, one term
per label (ViSQOL MOS-LQO over every sample; bitrate over the samples that carry one, clean = +inf).

For anchor i and each j != i:
    l(i, j) = -log( exp(-d(i,j)/t) / sum_{k != i, |y_i - y_k| >= |y_i - y_j|} exp(-d(i,k)/t) )
averaged over j, then over i. Label differences treat +inf exactly: |inf - inf| = 0 and |inf - y| = inf,
so a clean reference is farther (in label) from every coded clip than any two bitrates are from each other.

Rows whose label is NaN take no part (neither anchor, pair nor contrast). A term with fewer than two
distinct labels among its rows has nothing to rank and is defined as 0 (so is a batch without coded
samples for the bitrate term: only clean = +inf, or NaN, remain).
"""

import torch


def label_differences(labels: torch.Tensor) -> torch.Tensor:
    """(B,) float, +inf allowed -> (B, B) |y_i - y_j| with |inf - inf| = 0 (NaN rows give NaN)."""
    diff = (labels[:, None] - labels[None, :]).abs()
    return torch.where(labels[:, None] == labels[None, :], torch.zeros_like(diff), diff)


def rnc_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B, D), (B,) -> scalar RnC loss over the rows with a non-NaN label (0 when nothing can be ranked).

    Vectorised: the contrast set of every (i, j) pair is a (B, B, B) mask, fine for training batch sizes.
    """
    valid = ~torch.isnan(labels)  # (B,)
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pair = valid[:, None] & valid[None, :] & ~eye  # (B, B): i, j both labelled, j != i
    logits = -torch.cdist(embeddings, embeddings) / temperature  # (B, B) = -d(i, j) / t
    ldiff = label_differences(safe)  # (B, B)
    # contrast[i, j, k]: k is in the denominator of pair (i, j)
    contrast = (ldiff[:, None, :] >= ldiff[:, :, None]) & pair[:, None, :]  # (B, B, B)
    masked = logits[:, None, :].expand_as(contrast).masked_fill(~contrast, float("-inf"))
    log_denominator = torch.logsumexp(masked, dim=-1)  # (B, B)
    per_pair = torch.where(pair, log_denominator - logits, torch.zeros_like(logits))  # -log ratio
    pairs_per_anchor = pair.sum(dim=1)  # (B,)
    per_anchor = per_pair.sum(dim=1) / pairs_per_anchor.clamp(min=1)
    anchors = pairs_per_anchor > 0
    distinct = _distinct_count(safe, valid)
    loss = (per_anchor * anchors).sum() / anchors.sum().clamp(min=1)
    return torch.where(distinct >= 2, loss, torch.zeros_like(loss))


def _distinct_count(labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Number of distinct labels among valid rows, as a tensor (no host sync)."""
    same = (labels[:, None] == labels[None, :]) & valid[:, None] & valid[None, :]
    earlier = torch.tril(same, diagonal=-1).any(dim=1)  # an equal valid label appears before this row
    return (valid & ~earlier).sum()


def deepaq_rnc(
    embeddings: torch.Tensor, visqol: torch.Tensor, bitrate: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """(B, D), (B,), (B,) -> RnC over ViSQOL labels + RnC over bitrate labels (clean = +inf, NaN = none)."""
    return rnc_loss(embeddings, visqol, temperature) + rnc_loss(embeddings, bitrate, temperature)


def batch_rnc(
    embeddings: torch.Tensor, batch: dict, aspects: list[str], loss, label_columns: list[str]
) -> torch.Tensor:
    """(B, D) embedding of a batch -> sum of RnC terms: one per `loss.rnc_labels` aspect (targets; empty
    list = every aspect) and one over `loss.rnc_bitrate` (a `label_columns` entry, batch["labels"]).

    loss: the `loss:` section; label_columns: `data.label_columns`, the columns of batch["labels"].
    """
    terms = []
    for name in loss.rnc_labels or aspects:
        if name not in aspects:
            raise ValueError(f"loss.rnc_labels: {name!r} is not in data.aspects {aspects}")
        terms.append(
            rnc_loss(
                embeddings, batch["targets"][:, aspects.index(name)].to(embeddings), loss.rnc_temperature
            )
        )
    if loss.rnc_bitrate:
        columns = list(label_columns)
        if loss.rnc_bitrate not in columns:
            raise ValueError(
                f"loss.rnc_bitrate: {loss.rnc_bitrate!r} must be listed in data.label_columns {columns}"
            )
        bitrate = batch["labels"][:, columns.index(loss.rnc_bitrate)].to(embeddings)
        terms.append(rnc_loss(embeddings, bitrate, loss.rnc_temperature))
    return torch.stack(terms).sum()
