"""An n-gram language model with add-k or interpolated Kneser-Ney smoothing.

Each sentence is padded with n-1 start symbols ``<s>`` and one end symbol
``</s>``, so every word and the end of the sentence are predicted from a full
context h of the n-1 tokens before them. Training words seen fewer than
``min_count`` times, and unseen words at evaluation, become ``<unk>``. The
vocabulary V is the kept words plus ``<unk>``, ``</s>`` and, for n > 1,
``<s>``. Probabilities over V sum to one for every context.

Add-k (Lidstone, or Laplace for k = 1), with c the counts of training n-grams:

    P(w | h) = (c(h w) + k) / (c(h) + k |V|),   c(h) = sum_w c(h w)

Interpolated Kneser-Ney (Chen and Goodman, 1998, "An Empirical Study of
Smoothing Techniques for Language Modeling", section 3.5), with discount D:

    P_L(w | h) = max(a(h w) - D, 0) / a(h •) + D * N(h •) / a(h •) * P_{L-1}(w | h')
    P_0(w)     = 1 / |V|

where h' drops the first token of h, a(h w) is the count c(h w) at the
highest order and the continuation count N1+(• h w), the number of distinct
tokens seen before h w, at every lower order, a(h •) = sum_w a(h w), and
N(h •) is the number of distinct w with a(h w) > 0. A context with a(h •) = 0
takes P_{L-1}(w | h') whole, so unseen contexts back off without dividing by
zero. The uniform P_0 gives every word of V, ``<s>`` included, some mass.

Reference: NLTK's ``nltk.lm.Lidstone`` and ``Laplace`` give the same add-k
probabilities and perplexity when fitted on the same padded n-grams and
vocabulary, as the tests check. Kneser-Ney is checked against hand-computed
cases instead of NLTK's ``KneserNeyInterpolated``, whose lowest order (NLTK
3.10) is the continuation unigram without the uniform level. There ``<s>`` and
any word never seen as a continuation get probability 0, so perplexity is
infinite once such a token is scored.

Limitations:
    - One discount D for all orders. Modified Kneser-Ney (D1, D2, D3+) and
      discounts estimated from count-of-counts are not implemented.
    - Lower orders use continuation counts for n-grams that start with
      ``<s>`` too, where KenLM keeps raw counts.
    - Add-k counts ``<s>`` in |V| like NLTK, so k / (c(h) + k |V|) of each
      context's mass goes to a token that is never predicted.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from minbert.errors import DataError, ParameterError

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"


@dataclass(frozen=True)
class NGramConfig:
    """Order, smoothing and vocabulary cut-off of an n-gram model."""

    order: int = 3
    smoothing: Literal["add-k", "kneser-ney"] = "kneser-ney"
    # Pseudo-count of add-k smoothing, where 1 is Laplace smoothing.
    k: float = 1.0
    # Absolute discount D of Kneser-Ney, in (0, 1] so that every probability stays non-negative.
    discount: float = 0.75
    # Training words seen fewer times than this become <unk>.
    min_count: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise ParameterError("order", self.order, "is invalid (expected an integer of at least 1)")
        if self.smoothing not in ("add-k", "kneser-ney"):
            raise ParameterError("smoothing", self.smoothing, "is not supported (expected add-k or kneser-ney)")
        if not self.k > 0:
            raise ParameterError("k", self.k, "is invalid (expected a number greater than 0)")
        if not 0 < self.discount <= 1:
            raise ParameterError("discount", self.discount, "is invalid (expected greater than 0 and at most 1)")
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int) or self.min_count < 1:
            raise ParameterError("min_count", self.min_count, "is invalid (expected an integer of at least 1)")


@dataclass(frozen=True)
class _Level:
    """Counts of one n-gram length L: a(h w), a(h •) and N(h •), keyed by tuples of L or L-1 tokens."""

    counts: dict[tuple[str, ...], int]
    context_totals: dict[tuple[str, ...], int]
    context_types: dict[tuple[str, ...], int]


def _level(counts: Counter) -> _Level:
    totals: Counter = Counter()
    types: Counter = Counter()
    for ngram, count in counts.items():
        totals[ngram[:-1]] += count
        types[ngram[:-1]] += 1
    return _Level(counts=dict(counts), context_totals=dict(totals), context_types=dict(types))


def _check_sentence(sentence: Sequence[str], index: int) -> None:
    if isinstance(sentence, str):
        raise TypeError(f"sentence {index} is a string, but each sentence must be a list of tokens")
    for token in sentence:
        if token in (BOS, EOS):
            raise DataError(f"sentence {index} contains the reserved token {token!r}")


def _padded_ngrams(sentence: Sequence[str], vocabulary: frozenset[str], order: int) -> list[tuple[str, ...]]:
    """Return (context..., token) n-grams for each word of ``sentence`` and for </s>, unknowns as <unk>."""
    tokens = [BOS] * (order - 1) + [token if token in vocabulary else UNK for token in sentence] + [EOS]
    return [tuple(tokens[end - order + 1:end + 1]) for end in range(order - 1, len(tokens))]


class NGramLM:
    """A trained n-gram model, built by ``NGramLM.train`` and not changed after training."""

    def __init__(self, config: NGramConfig, vocabulary: frozenset[str], levels: list[_Level]):
        self.config = config
        self.vocabulary = vocabulary
        # levels[L - 1] contains the n-grams of length L, and add-k keeps only the highest order.
        self._levels = levels

    @classmethod
    def train(cls, sentences: Iterable[Sequence[str]], *, config: NGramConfig = NGramConfig()) -> "NGramLM":
        """Count the n-grams of tokenized ``sentences`` (lists of tokens) and return the model."""
        sentences = list(sentences)
        for index, sentence in enumerate(sentences):
            _check_sentence(sentence, index)
        if not sentences:
            raise DataError("no training sentences")

        # Vocabulary: frequent words plus the special tokens.
        word_counts = Counter(token for sentence in sentences for token in sentence)
        kept = {word for word, count in word_counts.items() if count >= config.min_count}
        specials = {UNK, EOS} | ({BOS} if config.order > 1 else set())
        vocabulary = frozenset(kept | specials)

        # Highest order: one n-gram per predicted token, words and </s>.
        top = Counter(ngram for sentence in sentences
                      for ngram in _padded_ngrams(sentence, vocabulary, config.order))
        if config.smoothing == "add-k":
            return cls(config, vocabulary, [_level(top)])

        # Lower orders: each distinct (L+1)-gram adds one to the continuation count of its last L tokens.
        levels = [_level(top)]
        higher = top
        for _ in range(config.order - 1):
            higher = Counter(ngram[1:] for ngram in higher)
            levels.append(_level(higher))
        return cls(config, vocabulary, levels[::-1])

    def probability(self, word: str, context: Sequence[str] = ()) -> float:
        """Return P(word | context), using the last n-1 tokens of ``context``.

        A shorter context is left-padded with ``<s>``, so ``[]`` is the start of
        a sentence. Words outside the vocabulary are scored as ``<unk>``.
        """
        n = self.config.order
        history = [BOS] * (n - 1) + [token if token in self.vocabulary else UNK for token in context]
        ngram = tuple(history[len(history) - (n - 1):]) + (word if word in self.vocabulary else UNK,)
        if self.config.smoothing == "add-k":
            return self._add_k(ngram)
        return self._kneser_ney(ngram)

    def _add_k(self, ngram: tuple[str, ...]) -> float:
        level, k = self._levels[-1], self.config.k
        count = level.counts.get(ngram, 0)
        total = level.context_totals.get(ngram[:-1], 0)
        return (count + k) / (total + k * len(self.vocabulary))

    def _kneser_ney(self, ngram: tuple[str, ...]) -> float:
        """Interpolate from the uniform distribution up to the full n-gram, lowest order first."""
        discount = self.config.discount
        probability = 1.0 / len(self.vocabulary)
        for length in range(1, len(ngram) + 1):
            level = self._levels[length - 1]
            suffix = ngram[len(ngram) - length:]
            total = level.context_totals.get(suffix[:-1], 0)
            if total == 0:
                # Unseen context: keep the lower-order probability as it is.
                continue
            count = level.counts.get(suffix, 0)
            backoff_weight = discount * level.context_types[suffix[:-1]] / total
            probability = max(count - discount, 0) / total + backoff_weight * probability
        return probability

    def log_probs(self, sentences: Iterable[Sequence[str]]) -> list[float]:
        """Return the natural log-probability of every word and every end of sentence, in order."""
        scores = []
        for index, sentence in enumerate(sentences):
            _check_sentence(sentence, index)
            for ngram in _padded_ngrams(sentence, self.vocabulary, self.config.order):
                probability = self.probability(ngram[-1], ngram[:-1])
                scores.append(math.log(probability))
        return scores
