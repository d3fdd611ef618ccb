"""Sentence pairs with a numeric score: STS similarity (0 to 5) and Quora duplicates (0 or 1).

A pair file has two text columns and one score column, in any layout that
``read_table`` reads. Every score must parse as a finite float. The Quora
file of the shared data has two broken rows whose ``is_duplicate`` is
empty (one with an empty second question too), so ``skip_missing_scores=True``
drops rows without a score, before checking their texts, and logs how many.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from minbert.data.readers import read_table
from minbert.errors import DataError

logger = logging.getLogger(__name__)

STS_SCORE_RANGE = (0.0, 5.0)


@dataclass(frozen=True)
class ScoredPair:
    """Two texts, their gold score, the row id (empty without an id column), and the record's first line."""

    first: str
    second: str
    score: float
    id: str
    line: int


def read_scored_pairs(
    path: str | Path,
    *,
    first_column: str = "sentence1",
    second_column: str = "sentence2",
    score_column: str = "similarity",
    id_column: str | None = None,
    skip_missing_scores: bool = False,
    score_range: tuple[float, float] | None = None,
) -> list[ScoredPair]:
    """Read every pair of ``path``, checking texts and scores.

    Raises DataError naming the file and line for an empty text, a score that
    is not a finite number (an empty score too, unless
    ``skip_missing_scores``) or lies outside ``score_range``, a missing
    column, and a file without pairs.
    """
    columns = [first_column, second_column, score_column] + ([id_column] if id_column else [])
    pairs = []
    skipped = 0
    for line, row in read_table(path, columns=columns):
        value = row[score_column].strip()
        if not value and skip_missing_scores:
            skipped += 1
            continue
        for column in (first_column, second_column):
            if not row[column].strip():
                raise DataError(f"{path}:{line}: empty text in column {column!r} (expected a non-empty string)")
        score = _parse_score(value, location=f"{path}:{line}", column=score_column)
        if score_range is not None and not score_range[0] <= score <= score_range[1]:
            raise DataError(f"{path}:{line}: {score_column} {value} is out of range "
                            f"(expected {score_range[0]:g} to {score_range[1]:g})")
        pairs.append(ScoredPair(first=row[first_column], second=row[second_column], score=score,
                                id=row[id_column] if id_column else "", line=line))
    if skipped:
        logger.warning("%s: skipped %d rows with an empty %r", path, skipped, score_column)
    if not pairs:
        raise DataError(f"{path}: no pairs (expected at least one record)")
    return pairs


def _parse_score(value: str, *, location: str, column: str) -> float:
    try:
        score = float(value)
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        raise DataError(f"{location}: {column} {value!r} is not a number (expected a finite number such as 3.8)")
    return score
