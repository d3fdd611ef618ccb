"""ROUGE-N, ROUGE-L and ROUGE-Lsum, with the same numbers as Google's rouge-score package.

Each ROUGE type compares a hypothesis (the generated text) with a reference
and reports precision P = overlap / hypothesis size, recall R = overlap /
reference size and the F-measure 2PR / (P + R), which is 0 when P + R = 0.

- ``rougeN`` (``rouge1`` .. ``rouge9``): the overlap is the number of shared
  n-grams, each counted at most as often as on either side.
- ``rougeL``: the overlap is the length of the longest common subsequence
  (LCS) of the two token lists.
- ``rougeLsum``: summary-level LCS (Lin, 2004, section 3.2) over sentences
  split at newlines. For each reference sentence, the union of the token
  positions in its LCS with every hypothesis sentence counts as hits, and
  each token is counted at most as often as it occurs in both texts.

Tokens are the runs of ``[a-z0-9]`` in the lowercased text. With
``use_stemmer``, tokens longer than three characters are replaced by their
Porter stem (``minbert.metrics.porter``).

``bootstrap_interval`` estimates a confidence interval of the corpus mean of
each value by resampling the pairs with replacement (Efron's percentile
bootstrap), as rouge-score's ``BootstrapAggregator`` does.

Reference: rouge-score 0.1.2, ``rouge_scorer.RougeScorer.score(target,
prediction)`` with the default tokenizer. The tests check every value to
1e-9. Where a reference sentence has several LCSs, ROUGE-Lsum depends on the
one picked, so the backtracking breaks ties the way rouge-score does.

Speed: rouge-score fills a Python dynamic-programming table of
len(a) * len(b) cells for each LCS. Here each row of that table is one
integer bit vector (Hyyrö, 2004, "Bit-parallel LCS-length computation
revisited"), and stems are cached across calls.

Deliberate differences: the middle value of ``bootstrap_interval`` is the
corpus mean, whereas rouge-score reports the median of the bootstrap means.
Resampling uses ``numpy.random.default_rng(seed)`` instead of the global NumPy
state, so intervals do not match rouge-score's draw for draw.

Limitations:
    - No sentence splitting with NLTK (rouge-score's ``split_summaries``):
      ROUGE-Lsum expects one sentence per line.
    - No multiple references per hypothesis (rouge-score's ``score_multi``).
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from minbert.errors import ConfigError, DataError, ParameterError
from minbert.metrics.porter import stem

_ROUGE_N = re.compile(r"rouge[1-9]")
_TOKEN = re.compile(r"[a-z0-9]+")

_cached_stem = lru_cache(maxsize=1 << 16)(stem)


@dataclass(frozen=True)
class RougeScore:
    """Precision, recall and F-measure of one ROUGE type, each between 0 and 1."""

    precision: float
    recall: float
    fmeasure: float


@dataclass(frozen=True)
class RougeConfig:
    """ROUGE types to compute and whether to stem tokens first."""

    rouge_types: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    use_stemmer: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rouge_types, str) or not self.rouge_types:
            raise ConfigError(f"rouge_types={self.rouge_types!r} must be a non-empty tuple of ROUGE type names")
        for rouge_type in self.rouge_types:
            if rouge_type not in ("rougeL", "rougeLsum") and not _ROUGE_N.fullmatch(rouge_type):
                raise ParameterError("rouge_types", rouge_type,
                                     "is not a ROUGE type (expected rouge1 to rouge9, rougeL or rougeLsum)")


@dataclass(frozen=True)
class RougeInterval:
    """A bootstrap confidence interval of a corpus mean: ``low`` and ``high`` bound ``mid``, the mean."""

    low: RougeScore
    mid: RougeScore
    high: RougeScore


def tokenize(text: str, *, use_stemmer: bool = False) -> list[str]:
    """Split ``text`` into ROUGE tokens: lowercase ``[a-z0-9]`` runs, stemmed if longer than 3 characters."""
    tokens = _TOKEN.findall(text.lower())
    if use_stemmer:
        tokens = [_cached_stem(token) if len(token) > 3 else token for token in tokens]
    return tokens


def _score(overlap: int, hyp_size: int, ref_size: int) -> RougeScore:
    precision = overlap / hyp_size
    recall = overlap / ref_size
    fmeasure = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return RougeScore(precision=precision, recall=recall, fmeasure=fmeasure)


def _rouge_n(hyp_tokens: list[str], ref_tokens: list[str], n: int) -> RougeScore:
    """Score clipped n-gram overlap, dividing by 1 for an empty side as rouge-score does."""
    hyp_ngrams = Counter(zip(*[hyp_tokens[start:] for start in range(n)]))
    ref_ngrams = Counter(zip(*[ref_tokens[start:] for start in range(n)]))
    shared = hyp_ngrams.keys() & ref_ngrams.keys()
    overlap = sum(map(min, map(hyp_ngrams.__getitem__, shared), map(ref_ngrams.__getitem__, shared)))
    return _score(overlap, max(hyp_ngrams.total(), 1), max(ref_ngrams.total(), 1))


def _match_masks(tokens: list[str]) -> dict[str, int]:
    """Map each token to a bit mask of its positions in ``tokens`` (bit j for position j)."""
    masks: dict[str, int] = {}
    for position, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def _lcs_rows(ref: list[str], hyp: list[str]) -> list[int]:
    """Return the LCS table of ``ref`` against ``hyp`` as one bit vector per row, rows 0..len(ref).

    Row i encodes the table row T[i][0..n] for the first i reference tokens:
    bit j is 0 exactly where T[i][j+1] = T[i][j] + 1, so T[i][j] is the number
    of zero bits below bit j.
    """
    masks = _match_masks(hyp)
    all_ones = (1 << len(hyp)) - 1
    row = all_ones
    rows = [row]
    for token in ref:
        matched = row & masks.get(token, 0)
        row = ((row + matched) | (row - matched)) & all_ones
        rows.append(row)
    return rows


def lcs_length(ref: list[str], hyp: list[str]) -> int:
    """Return the length of the longest common subsequence of two token lists."""
    masks = _match_masks(hyp)
    all_ones = (1 << len(hyp)) - 1
    row = all_ones
    for token in ref:
        matched = row & masks.get(token, 0)
        row = ((row + matched) | (row - matched)) & all_ones
    return len(hyp) - row.bit_count()


def lcs_positions(ref: list[str], hyp: list[str]) -> list[int]:
    """Return the positions in ``ref`` of one LCS, the one rouge-score's backtracking picks.

    From the table's last cell, a token match moves diagonally, and otherwise
    the walk moves left only when the cell to the left is strictly larger than
    the cell above.
    """
    rows = _lcs_rows(ref, hyp)

    def cell(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    positions = []
    i, j = len(ref), len(hyp)
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1]:
            positions.append(i - 1)
            i -= 1
            j -= 1
        elif cell(i, j - 1) > cell(i - 1, j):
            j -= 1
        else:
            i -= 1
    return positions[::-1]


def _rouge_l(hyp_tokens: list[str], ref_tokens: list[str]) -> RougeScore:
    if not hyp_tokens or not ref_tokens:
        return RougeScore(precision=0.0, recall=0.0, fmeasure=0.0)
    return _score(lcs_length(ref_tokens, hyp_tokens), len(hyp_tokens), len(ref_tokens))


def _rouge_lsum(hyp_sentences: list[list[str]], ref_sentences: list[list[str]]) -> RougeScore:
    """Score summary-level LCS: union LCS hits per reference sentence, clipped by token counts."""
    hyp_size = sum(map(len, hyp_sentences))
    ref_size = sum(map(len, ref_sentences))
    if hyp_size == 0 or ref_size == 0:
        return RougeScore(precision=0.0, recall=0.0, fmeasure=0.0)

    # Each token can be a hit only as often as it occurs in both texts.
    hyp_left = Counter(token for sentence in hyp_sentences for token in sentence)
    ref_left = Counter(token for sentence in ref_sentences for token in sentence)
    hits = 0
    for ref_sentence in ref_sentences:
        union = set()
        for hyp_sentence in hyp_sentences:
            union.update(lcs_positions(ref_sentence, hyp_sentence))
        for position in sorted(union):
            token = ref_sentence[position]
            if hyp_left[token] > 0 and ref_left[token] > 0:
                hits += 1
                hyp_left[token] -= 1
                ref_left[token] -= 1
    return _score(hits, hyp_size, ref_size)


def _sentences(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def score_rouge(*, hypothesis: str, reference: str, config: RougeConfig = RougeConfig()) -> dict[str, RougeScore]:
    """Score ``hypothesis`` against ``reference`` for each ROUGE type of ``config``, keyed by type name.

    Keyword-only because rouge-score takes the reference first and other tools
    take the hypothesis first, and swapping them swaps precision and recall.
    """
    if not isinstance(hypothesis, str) or not isinstance(reference, str):
        raise TypeError(f"hypothesis and reference must be strings, got {type(hypothesis).__name__} "
                        f"and {type(reference).__name__}")
    hyp_tokens = tokenize(hypothesis, use_stemmer=config.use_stemmer)
    ref_tokens = tokenize(reference, use_stemmer=config.use_stemmer)

    scores = {}
    for rouge_type in config.rouge_types:
        if rouge_type == "rougeL":
            scores[rouge_type] = _rouge_l(hyp_tokens, ref_tokens)
        elif rouge_type == "rougeLsum":
            hyp_lines, ref_lines = _sentences(hypothesis), _sentences(reference)
            if len(hyp_lines) == 1 and len(ref_lines) == 1:
                # One sentence a side: the union is one LCS, whose tokens never exceed the counts.
                scores[rouge_type] = _rouge_l(hyp_tokens, ref_tokens)
            else:
                scores[rouge_type] = _rouge_lsum(
                    [tokenize(line, use_stemmer=config.use_stemmer) for line in hyp_lines],
                    [tokenize(line, use_stemmer=config.use_stemmer) for line in ref_lines])
        else:
            scores[rouge_type] = _rouge_n(hyp_tokens, ref_tokens, int(rouge_type[5:]))
    return scores


def corpus_rouge(*, hypotheses: Sequence[str], references: Sequence[str],
                 config: RougeConfig = RougeConfig()) -> list[dict[str, RougeScore]]:
    """Score each hypothesis against the reference at the same index."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists of strings, not one string")
    if len(hypotheses) != len(references):
        raise DataError(f"{len(hypotheses)} hypotheses but {len(references)} references: "
                        "give one reference per hypothesis")
    return [score_rouge(hypothesis=hypothesis, reference=reference, config=config)
            for hypothesis, reference in zip(hypotheses, references)]


def check_bootstrap_settings(*, confidence: float, num_samples: int, seed: int) -> None:
    """Raise ParameterError naming the first bootstrap setting out of range."""
    if not 0 < confidence < 1:
        raise ParameterError("confidence", confidence, "is invalid (expected a number between 0 and 1)")
    if num_samples < 1:
        raise ParameterError("num_samples", num_samples, "is invalid (expected 1 or more)")
    if seed < 0:
        raise ParameterError("seed", seed, "is invalid (expected an integer of at least 0)")


def bootstrap_interval(scores: Sequence[dict[str, RougeScore]], *, confidence: float = 0.95,
                       num_samples: int = 1000, seed: int = 0) -> dict[str, RougeInterval]:
    """Estimate a percentile-bootstrap confidence interval of the corpus mean of each ROUGE type.

    Each of ``num_samples`` resamples draws len(scores) pairs with
    replacement and takes their mean. ``low`` and ``high`` are the
    (1 - confidence)/2 and (1 + confidence)/2 quantiles of those means, with
    NumPy's linear interpolation.
    """
    if not scores:
        raise DataError("no scores to aggregate")
    check_bootstrap_settings(confidence=confidence, num_samples=num_samples, seed=seed)
    rouge_types = list(scores[0])

    # (pairs, 3 * types): precision, recall and F-measure of each type side by side.
    values = np.array([[getattr(score[rouge_type], field) for rouge_type in rouge_types
                        for field in ("precision", "recall", "fmeasure")] for score in scores])
    generator = np.random.default_rng(seed)
    sample_means = np.empty((num_samples, values.shape[1]))
    for sample in range(num_samples):
        sample_means[sample] = values[generator.integers(0, len(values), size=len(values))].mean(axis=0)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(sample_means, [tail, 100 - tail], axis=0)
    mean = values.mean(axis=0)

    def as_score(row: np.ndarray, index: int) -> RougeScore:
        return RougeScore(precision=float(row[3 * index]), recall=float(row[3 * index + 1]),
                          fmeasure=float(row[3 * index + 2]))

    return {rouge_type: RougeInterval(low=as_score(low, index), mid=as_score(mean, index), high=as_score(high, index))
            for index, rouge_type in enumerate(rouge_types)}
