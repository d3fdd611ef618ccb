"""BLEU at corpus and sentence level, with the same numbers as sacrebleu.

BLEU is the geometric mean of the clipped n-gram precisions p_1..p_N, scaled
by a brevity penalty and reported on a 0-100 scale:

    BLEU = 100 * BP * exp((1/N) * sum_n log p_n)
    p_n  = sum over segments of clipped matches / sum of hypothesis n-grams
    BP   = 1 if c >= r else exp(1 - r/c), and 0 when c = 0

A hypothesis n-gram counts as a match at most as often as it occurs in any
single reference (clipping). c is the total hypothesis length, and r adds up, per
segment, the reference length closest to the hypothesis length, the shorter
one on a tie. Lengths and counts are in tokens of the chosen tokenizer (see
``minbert.metrics.bleu_tokenizers``).

Smoothing, after Chen and Cherry (2014), "A Systematic Comparison of Smoothing
Techniques for Sentence-Level BLEU":

- ``none``: a zero precision makes BLEU zero.
- ``floor``: a zero precision becomes ``smooth_value / total`` (default 0.1).
- ``add-k``: adds ``smooth_value`` (default 1) to the matches and totals of
  every order above 1.
- ``exp``: the i-th order with zero matches gets ``1 / (2^i * total)``, as in
  ``mteval-v13a.pl``.

With ``effective_order``, orders that have no hypothesis n-grams at all are
left out of the mean, which keeps short sentences from scoring zero.

Reference: sacrebleu 2.x ``sacrebleu.metrics.bleu.BLEU``, and the tests check
``corpus_score`` and ``sentence_score`` to 1e-9. The arithmetic follows it
step by step, including its quirks: BLEU is 0 and every precision is 0 when
no n-gram of any order matches, even with smoothing, and the log of a zero
precision is taken as -9999999999. ``sentence_bleu`` defaults to effective
order, like sacrebleu's ``sentence_bleu`` function.

Deliberate differences: ``BleuScore.matches`` and ``totals`` are the raw
counts, whereas sacrebleu's ``counts`` and ``totals`` include the added k of
``add-k`` smoothing. The signature also names ``max_ngram_order`` and gives
minbert's version. An empty corpus raises ``DataError`` (sacrebleu raises
``IndexError``).

Limitations:
    - Only the tokenizers 13a, intl, char and none.
    - No bootstrap resampling or significance tests.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from minbert import __version__
from minbert.errors import ConfigError, DataError, ParameterError
from minbert.metrics.bleu_tokenizers import BLEU_TOKENIZERS

SmoothMethod = Literal["none", "floor", "add-k", "exp"]
TokenizerName = Literal["13a", "intl", "char", "none"]

SMOOTH_METHODS = ("none", "floor", "add-k", "exp")
# The default smooth_value of the methods that take one (Chen and Cherry, 2014).
DEFAULT_SMOOTH_VALUES = {"floor": 0.1, "add-k": 1.0}
# sacrebleu's stand-in for log(0), so that a zero precision gives BLEU 0.
LOG_OF_ZERO = -9999999999.0


@dataclass(frozen=True)
class BleuConfig:
    """Options of BLEU, with sacrebleu's corpus-level defaults."""

    tokenize: TokenizerName = "13a"
    lowercase: bool = False
    smooth_method: SmoothMethod = "exp"
    # None takes the method's default. Only floor and add-k use a value.
    smooth_value: float | None = None
    max_ngram_order: int = 4
    effective_order: bool = False

    def __post_init__(self) -> None:
        if self.tokenize not in BLEU_TOKENIZERS:
            raise ConfigError(f"unknown BLEU tokenizer {self.tokenize!r} "
                              f"(expected one of {', '.join(sorted(BLEU_TOKENIZERS))})")
        if self.smooth_method not in SMOOTH_METHODS:
            raise ConfigError(f"unknown smoothing method {self.smooth_method!r} "
                              f"(expected one of {', '.join(SMOOTH_METHODS)})")
        if isinstance(self.max_ngram_order, bool) or not isinstance(self.max_ngram_order, int) \
                or self.max_ngram_order < 1:
            raise ParameterError("max_ngram_order", self.max_ngram_order,
                                 "is invalid (expected an integer of at least 1)")
        if self.smooth_value is not None:
            if self.smooth_method not in DEFAULT_SMOOTH_VALUES:
                raise ParameterError("smooth_value", self.smooth_value,
                                     f"is invalid with smoothing method {self.smooth_method!r} "
                                     "(expected no value, or smoothing method floor or add-k)")
            # Written so that NaN fails too. Infinity is rejected because it makes every smoothed precision NaN.
            if not 0 <= self.smooth_value < math.inf:
                raise ParameterError("smooth_value", self.smooth_value,
                                     "is invalid (expected a finite number of at least 0)")

    @property
    def resolved_smooth_value(self) -> float | None:
        """The value that floor or add-k smoothing uses, or None for the other methods."""
        if self.smooth_value is not None:
            return self.smooth_value
        return DEFAULT_SMOOTH_VALUES.get(self.smooth_method)


# Sentence BLEU leaves out orders a short hypothesis cannot have, like sacrebleu's sentence_bleu().
SENTENCE_CONFIG = BleuConfig(effective_order=True)


@dataclass(frozen=True)
class BleuScore:
    """A BLEU score with the statistics behind it, with precisions and score as percentages."""

    score: float
    precisions: tuple[float, ...]
    # Clipped matches and hypothesis n-gram counts per order, without smoothing.
    matches: tuple[int, ...]
    totals: tuple[int, ...]
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    signature: str

    @property
    def ratio(self) -> float:
        """Hypothesis length over reference length, 0 when the reference length is 0."""
        return self.hyp_len / self.ref_len if self.ref_len else 0.0


@lru_cache(maxsize=64)
def bleu_signature(config: BleuConfig, *, num_refs: int | None) -> str:
    """Name every setting that changes the score, in sacrebleu's ``key:value|...`` layout.

    ``num_refs`` None means the number of references varies between segments.
    """
    smooth = config.smooth_method
    if config.resolved_smooth_value is not None:
        smooth += f"[{config.resolved_smooth_value:.2f}]"
    fields = {
        "nrefs": "var" if num_refs is None else str(num_refs),
        "case": "lc" if config.lowercase else "mixed",
        "eff": "yes" if config.effective_order else "no",
        "tok": config.tokenize,
        "smooth": smooth,
        "order": str(config.max_ngram_order),
        "version": f"minbert-{__version__}",
    }
    return "|".join(f"{key}:{value}" for key, value in fields.items())


def preprocess(line: str, config: BleuConfig) -> list[str]:
    """Lowercase if asked, strip trailing whitespace and tokenize, as sacrebleu does before counting."""
    if config.lowercase:
        line = line.lower()
    return BLEU_TOKENIZERS[config.tokenize](line.rstrip())


def _ngrams(shifted: list[list[str]], order: int) -> Iterable:
    """Return the n-grams of one order, from the token list shifted by 0, 1, ... positions.

    Unigrams are the bare tokens, and longer n-grams are tuples.
    """
    return shifted[0] if order == 1 else zip(*shifted[:order])


def _clipped_matches(hyp_shifted: list[list[str]], refs_shifted: list[list[list[str]]], order: int) -> int:
    """Count hypothesis n-grams found in the references, each at most as often as in one reference."""
    if len(refs_shifted) == 1:
        hyp_set = set(_ngrams(hyp_shifted, order))
        ref_set = set(_ngrams(refs_shifted[0], order))
        # When either side has no repeated n-gram, every min(count, count) is 1.
        if len(hyp_set) == len(hyp_shifted[0]) - order + 1 or len(ref_set) == len(refs_shifted[0][0]) - order + 1:
            return len(hyp_set & ref_set)

    limits = Counter(_ngrams(refs_shifted[0], order))
    for ref_shifted in refs_shifted[1:]:
        limits |= Counter(_ngrams(ref_shifted, order))
    counts = Counter(_ngrams(hyp_shifted, order))
    shared = counts.keys() & limits.keys()
    return sum(map(min, map(counts.__getitem__, shared), map(limits.__getitem__, shared)))


def _closest_length(hyp_len: int, ref_lens: list[int]) -> int:
    # The shortest of the reference lengths nearest to the hypothesis length.
    return min(ref_lens, key=lambda ref_len: (abs(ref_len - hyp_len), ref_len))


def _segment_statistics(hypothesis: list[str], references: list[list[str]],
                        max_order: int) -> tuple[int, int, list[int], list[int]]:
    """Return hypothesis length, closest reference length, clipped matches and totals of one segment."""
    hyp_len = len(hypothesis)
    ref_len = len(references[0]) if len(references) == 1 else \
        _closest_length(hyp_len, [len(reference) for reference in references])
    totals = [max(hyp_len - order + 1, 0) for order in range(1, max_order + 1)]

    # Slice each token list once per shift, and build every order's n-grams from the slices.
    hyp_shifted = [hypothesis[start:] for start in range(max_order)]
    refs_shifted = [[reference[start:] for start in range(max_order)] for reference in references]
    matches = [0] * max_order
    for order in range(1, max_order + 1):
        # Every matching n-gram contains a matching (n-1)-gram, so no match at one order ends the search.
        if totals[order - 1] == 0 or (order > 1 and matches[order - 2] == 0):
            break
        matches[order - 1] = _clipped_matches(hyp_shifted, refs_shifted, order)
    return hyp_len, ref_len, matches, totals


def _score(hyp_len: int, ref_len: int, matches: list[int], totals: list[int], config: BleuConfig,
           signature: str) -> BleuScore:
    """Turn summed statistics into BLEU, in the order of operations sacrebleu uses."""
    if hyp_len >= ref_len:
        brevity_penalty = 1.0
    elif hyp_len > 0:
        brevity_penalty = math.exp(1 - ref_len / hyp_len)
    else:
        brevity_penalty = 0.0

    order = config.max_ngram_order
    precisions = [0.0] * order
    result = dict(matches=tuple(matches), totals=tuple(totals), brevity_penalty=brevity_penalty,
                  hyp_len=hyp_len, ref_len=ref_len, signature=signature)
    if not any(matches):
        return BleuScore(score=0.0, precisions=tuple(precisions), **result)

    # Smoothed precision of each order, up to the first order without hypothesis n-grams.
    method, smooth_value = config.smooth_method, config.resolved_smooth_value
    exp_divisor = 1.0
    orders_in_mean = order
    for index in range(order):
        correct, total = matches[index], totals[index]
        if method == "add-k" and index > 0:
            correct += smooth_value
            total += smooth_value
        if total == 0:
            break
        if config.effective_order:
            orders_in_mean = index + 1
        if correct > 0:
            precisions[index] = 100.0 * correct / total
        elif method == "exp":
            exp_divisor *= 2
            precisions[index] = 100.0 / (exp_divisor * total)
        elif method == "floor":
            precisions[index] = 100.0 * smooth_value / total

    log_sum = sum(math.log(precision) if precision != 0.0 else LOG_OF_ZERO
                  for precision in precisions[:orders_in_mean])
    score = brevity_penalty * math.exp(log_sum / orders_in_mean)
    return BleuScore(score=score, precisions=tuple(precisions), **result)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str | None]], *,
                config: BleuConfig = BleuConfig()) -> BleuScore:
    """Score a corpus of hypotheses against one or more reference streams.

    ``references`` is a list of streams, as in sacrebleu: ``references[k][i]``
    is the k-th reference of ``hypotheses[i]``. A ``None`` entry leaves that
    reference out for that segment, so segments may have different numbers
    of references. Statistics are summed over the corpus before the score.
    """
    if isinstance(hypotheses, str) or isinstance(references, str) \
            or any(isinstance(stream, str) for stream in references):
        raise TypeError("hypotheses must be a list of strings and references a list of lists of strings")
    if not hypotheses:
        raise DataError("no hypotheses to score")
    if not references:
        raise DataError("no references: give at least one reference stream")
    for index, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise DataError(f"reference stream {index} has {len(stream)} segments "
                            f"but there are {len(hypotheses)} hypotheses")

    order = config.max_ngram_order
    hyp_total, ref_total = 0, 0
    matches, totals = [0] * order, [0] * order
    reference_counts = set()
    for index, (hypothesis, segment_references) in enumerate(zip(hypotheses, zip(*references))):
        reference_tokens = [preprocess(reference, config) for reference in segment_references
                            if reference is not None]
        if not reference_tokens:
            raise DataError(f"hypothesis {index} has no reference: every stream has None there")
        reference_counts.add(len(reference_tokens))
        hyp_len, ref_len, segment_matches, segment_totals = _segment_statistics(
            preprocess(hypothesis, config), reference_tokens, order)
        hyp_total += hyp_len
        ref_total += ref_len
        matches = [a + b for a, b in zip(matches, segment_matches)]
        totals = [a + b for a, b in zip(totals, segment_totals)]

    num_refs = reference_counts.pop() if len(reference_counts) == 1 else None
    return _score(hyp_total, ref_total, matches, totals, config, bleu_signature(config, num_refs=num_refs))


def sentence_bleu(hypothesis: str, references: Sequence[str], *, config: BleuConfig = SENTENCE_CONFIG) -> BleuScore:
    """Score one hypothesis against its references, by default with effective order."""
    if not isinstance(hypothesis, str) or isinstance(references, str):
        raise TypeError("hypothesis must be a string and references a list of strings")
    if not references:
        raise DataError("no references: give at least one reference")

    reference_tokens = [preprocess(reference, config) for reference in references]
    hyp_len, ref_len, matches, totals = _segment_statistics(
        preprocess(hypothesis, config), reference_tokens, config.max_ngram_order)
    return _score(hyp_len, ref_len, matches, totals, config, bleu_signature(config, num_refs=len(references)))
