"""Perplexity of a language model from the probabilities it gave each token.

For N tokens with model probabilities p_1..p_N, perplexity has two equivalent
definitions:

    PP = (p_1 * p_2 * ... * p_N) ** (-1/N)      (N-th root of 1 / joint probability)
    PP = b ** H,  H = -(1/N) * sum_i log_b p_i  (cross-entropy H per token)

with b = e when H is in nats and b = 2 when H is in bits. A model that is
uniform over V tokens has PP = V. ``perplexity_from_probabilities`` computes
the first form and ``perplexity`` the second, and the tests check that they
agree.

Reference: Jurafsky and Martin, "Speech and Language Processing" (3rd ed.
draft), chapter 3, "N-gram Language Models", section 3.3. NLTK's
``LanguageModel.perplexity`` is the second form in bits.

Limitations:
    - Token probabilities of exactly 0 (log-probability -inf) give infinite
      perplexity, as the definition does.
    - ``perplexity_from_probabilities`` takes probabilities, so a token whose
      probability is below the smallest float (about 5e-324) counts as 0. Use
      ``perplexity`` with log-probabilities for such models.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from minbert.errors import ConfigError, DataError

Unit = Literal["nats", "bits"]


@dataclass(frozen=True)
class Perplexity:
    """Perplexity and per-token cross-entropy of a model on ``num_tokens`` tokens."""

    perplexity: float
    cross_entropy: float
    unit: Unit
    num_tokens: int


def _check_unit(unit: str) -> None:
    if unit not in ("nats", "bits"):
        raise ConfigError(f"unit={unit!r} must be 'nats' or 'bits'")


def _natural_log_probs(log_probs: Iterable[float], log_base: float) -> np.ndarray:
    """Check the log-probabilities and convert them to natural logs, as a flat float64 array."""
    if not log_base > 0 or log_base == 1:
        raise ConfigError(f"log_base={log_base} must be positive and not 1")
    if not hasattr(log_probs, "__len__"):
        log_probs = list(log_probs)
    values = np.asarray(log_probs, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise DataError("no tokens: perplexity needs at least one log-probability")
    invalid = np.flatnonzero(np.isnan(values) | (values > 0))
    if invalid.size:
        index = int(invalid[0])
        raise DataError(f"log-probability {values[index]} of token {index} is invalid "
                        "(expected a number of at most 0)")
    return values if log_base == math.e else values * math.log(log_base)


def _mean_negative(natural: np.ndarray, unit: Unit) -> float:
    nats = -math.fsum(natural.tolist()) / natural.size
    return nats if unit == "nats" else nats / math.log(2)


def cross_entropy(log_probs: Iterable[float], *, log_base: float = math.e, unit: Unit = "nats") -> float:
    """Return the mean negative log-probability per token, in nats or bits.

    ``log_probs`` are log-probabilities to base ``log_base`` (e for
    ``torch.log_softmax``, 2 for NLTK's ``logscore``), as a sequence or array.
    """
    _check_unit(unit)
    return _mean_negative(_natural_log_probs(log_probs, log_base), unit)


def perplexity_from_cross_entropy(entropy: float, *, unit: Unit = "nats") -> float:
    """Return e ** H for a cross-entropy H in nats, or 2 ** H for bits."""
    _check_unit(unit)
    try:
        return math.exp(entropy) if unit == "nats" else 2.0 ** entropy
    except OverflowError:
        return math.inf


def perplexity(log_probs: Iterable[float], *, log_base: float = math.e, unit: Unit = "nats") -> Perplexity:
    """Compute perplexity as the exponential of the cross-entropy of ``log_probs``."""
    _check_unit(unit)
    natural = _natural_log_probs(log_probs, log_base)
    entropy = _mean_negative(natural, unit)
    return Perplexity(perplexity=perplexity_from_cross_entropy(entropy, unit=unit), cross_entropy=entropy,
                      unit=unit, num_tokens=natural.size)


def perplexity_from_probabilities(probabilities: Iterable[float]) -> float:
    """Compute perplexity as the N-th root of the inverse joint probability of the tokens.

    The joint probability of many tokens underflows a float, so the product is
    kept as a mantissa in [0.5, 1) and a separate power of two, and the root is
    taken of each part. No logarithm is involved.
    """
    mantissa, exponent, count = 1.0, 0, 0
    for probability in probabilities:
        if not 0 <= probability <= 1:
            raise DataError(f"probability {probability} of token {count} is outside [0, 1]")
        if probability == 0:
            return math.inf
        factor_mantissa, factor_exponent = math.frexp(probability)
        mantissa, renormalised = math.frexp(mantissa * factor_mantissa)
        exponent += factor_exponent + renormalised
        count += 1
    if count == 0:
        raise DataError("no tokens: perplexity needs at least one probability")

    # (m * 2**E) ** (-1/N) = m ** (-1/N) * 2 ** (-E/N)
    try:
        return mantissa ** (-1 / count) * 2.0 ** (-exponent / count)
    except OverflowError:
        return math.inf
