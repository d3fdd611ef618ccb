"""Losses for siamese Sentence-BERT training on batches of sentence-pair embeddings.

Each loss takes the (B, C) embeddings u and v of the two sides of B pairs;
c_i = cos(u_i, v_i) is the cosine of pair i and y_i its gold score.

Cosine-similarity regression (Reimers and Gurevych, 2019), with m the top of the score scale (5 for STS):

    L = 1/B * sum_i (c_i - y_i / m)^2

CoSENT (Su, 2022), with scale s (20 by default):

    L = log(1 + sum over (i, j) with y_i > y_j of exp(s * (c_j - c_i)))

Each term penalises a pair ranked below a pair of lower gold score, so only
the order of the gold scores matters, not their values.

Multiple-negatives ranking (Henderson et al., 2017), for positive pairs
(a_i, p_i) only. Every other positive p_j of the batch is a negative for a_i:

    L = 1/B * sum_i cross_entropy(s * [cos(a_i, p_1), ..., cos(a_i, p_B)], target i)

The tests check each loss against sentence-transformers 6.3 (``CosineSimilarityLoss``
with the scores divided by m, ``CoSENTLoss`` and ``MultipleNegativesRankingLoss``,
called on the same embeddings) within 1e-6 in float64.

Limitations: multiple-negatives ranking takes p_j as a negative even when
it is a paraphrase of a_i (the same Quora question can occur in two pairs
of a batch). CoSENT builds the (B, B) matrix of score differences, which is
small for the batch sizes of fine-tuning.
"""

from typing import Literal

import torch
import torch.nn.functional as F

SbertLoss = Literal["cosine", "cosent", "mnrl"]
SBERT_LOSSES: tuple[SbertLoss, ...] = ("cosine", "cosent", "mnrl")
# Losses whose pairs carry a gold score; mnrl takes positive pairs only.
SCORED_LOSSES: tuple[SbertLoss, ...] = ("cosine", "cosent")

DEFAULT_SCALE = 20.0


def pair_cosines(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Return the (B,) cosines of the rows of two (B, C) tensors. A zero row has cosine 0."""
    return (F.normalize(first, dim=1) * F.normalize(second, dim=1)).sum(dim=1)


def cosine_similarity_loss(first: torch.Tensor, second: torch.Tensor, scores: torch.Tensor, *,
                           max_score: float) -> torch.Tensor:
    """Return the mean squared error between each pair's cosine and its gold score divided by ``max_score``."""
    return F.mse_loss(pair_cosines(first, second), scores.to(first.dtype) / max_score)


def cosent_loss(first: torch.Tensor, second: torch.Tensor, scores: torch.Tensor, *,
                scale: float = DEFAULT_SCALE) -> torch.Tensor:
    """Return the CoSENT loss of a batch of scored pairs (a scalar; 0 when no two gold scores differ)."""
    scaled = scale * pair_cosines(first, second)                              # (B,)

    # differences[i, j] = s * (c_j - c_i), kept where y_i > y_j.
    differences = scaled[None, :] - scaled[:, None]                           # (B, B)
    first_scored_higher = scores[:, None] > scores[None, :]             # (B, B)
    terms = differences[first_scored_higher]                            # (P,)

    # log(1 + sum exp(t)) = logsumexp([0, t...]), which stays finite for large t.
    return torch.logsumexp(torch.cat([terms.new_zeros(1), terms]), dim=0)


def multiple_negatives_ranking_loss(anchors: torch.Tensor, positives: torch.Tensor, *,
                                    scale: float = DEFAULT_SCALE) -> torch.Tensor:
    """Return the in-batch softmax loss of B positive pairs: anchor i must pick positive i among all B."""
    logits = scale * (F.normalize(anchors, dim=1) @ F.normalize(positives, dim=1).T)   # (B, B)
    targets = torch.arange(len(anchors), device=anchors.device)
    return F.cross_entropy(logits, targets)


def sbert_loss(loss: SbertLoss, first: torch.Tensor, second: torch.Tensor, scores: torch.Tensor | None, *,
               scale: float = DEFAULT_SCALE, max_score: float = 5.0) -> torch.Tensor:
    """Return the named loss of a batch. ``scores`` is required by cosine and cosent and ignored by mnrl."""
    if loss == "mnrl":
        return multiple_negatives_ranking_loss(first, second, scale=scale)
    if scores is None:
        raise ValueError(f"loss {loss!r} needs the gold scores of the pairs")
    if loss == "cosine":
        return cosine_similarity_loss(first, second, scores, max_score=max_score)
    if loss == "cosent":
        return cosent_loss(first, second, scores, scale=scale)
    raise ValueError(f"unknown loss {loss!r} (expected one of {', '.join(SBERT_LOSSES)})")
