"""STS evaluation: how well the cosine of two embeddings ranks pairs by gold similarity.

    cos_i = <e(a_i), e(b_i)> / (||e(a_i)|| ||e(b_i)||)
    spearman(cos, gold), pearson(cos, gold)

Each distinct sentence is embedded once. This is the score of
sentence-transformers' ``EmbeddingSimilarityEvaluator`` with cosine
similarity, and the test suite compares it with sentence-transformers'
embeddings on sts-dev.csv.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from minbert.data.pairs import ScoredPair
from minbert.embeddings.encoder import SentenceEncoder
from minbert.metrics.correlation import pearson, spearman


@dataclass(frozen=True)
class StsResult:
    spearman: float
    pearson: float
    pairs: int


def pair_cosines(encoder: SentenceEncoder, pairs: Sequence[ScoredPair], *, batch_size: int = 32,
                 show_progress: bool | None = None) -> np.ndarray:
    """Return the cosine similarity of each pair's two embeddings."""
    sentences = list(dict.fromkeys(text for pair in pairs for text in (pair.first, pair.second)))
    row = {sentence: position for position, sentence in enumerate(sentences)}
    embeddings = encoder.encode(sentences, batch_size=batch_size, normalize=True, show_progress=show_progress)
    first = embeddings[[row[pair.first] for pair in pairs]]
    second = embeddings[[row[pair.second] for pair in pairs]]
    return (first.astype(np.float64) * second).sum(axis=1)


def evaluate_sts(encoder: SentenceEncoder, pairs: Sequence[ScoredPair], *, batch_size: int = 32,
                 show_progress: bool | None = None) -> StsResult:
    """Spearman and Pearson correlation between pair cosines and gold scores."""
    cosines = pair_cosines(encoder, pairs, batch_size=batch_size, show_progress=show_progress)
    gold = [pair.score for pair in pairs]
    return StsResult(spearman=spearman(cosines, gold), pearson=pearson(cosines, gold), pairs=len(pairs))
