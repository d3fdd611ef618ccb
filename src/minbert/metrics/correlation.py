"""Pearson and Spearman correlation, the scores of STS evaluation.

    pearson(x, y)  = sum (x_i - mean x)(y_i - mean y) / sqrt(sum (x_i - mean x)^2 * sum (y_i - mean y)^2)
    spearman(x, y) = pearson(rank(x), rank(y))

Tied values share the mean of the ranks they span (``3, 1, 3`` ranks as
``2.5, 1, 2.5``), as in ``scipy.stats.spearmanr``. Sums are in float64.
"""

from collections.abc import Sequence

import numpy as np

from minbert.errors import DataError


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Return the Pearson correlation of two equal-length sequences; NaN when either is constant."""
    a, b = _as_pair(x, y)
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    if denominator == 0:
        return float("nan")
    return float(np.clip((a * b).sum() / denominator, -1.0, 1.0))


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Return the Spearman rank correlation, ties given their mean rank; NaN when either is constant."""
    a, b = _as_pair(x, y)
    return pearson(mean_ranks(a), mean_ranks(b))


def mean_ranks(values: np.ndarray) -> np.ndarray:
    """Return the 1-based ranks of ``values``, each run of equal values given the mean of its ranks."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # A run of ties starts wherever the sorted value changes.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    run_means = (starts + ends + 1) / 2.0            # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(run_means, ends - starts)
    return ranks


def _as_pair(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if len(a) != len(b):
        raise DataError(f"{len(a)} predictions but {len(b)} gold scores (expected the same number)")
    if len(a) < 2:
        raise DataError(f"a correlation needs at least 2 pairs of values, got {len(a)}")
    return a, b
