"""Tests for minbert.metrics.perplexity: both definitions agree, and a uniform model over V tokens has perplexity V."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.errors import ConfigError, DataError
from minbert.metrics.perplexity import (
    cross_entropy,
    perplexity,
    perplexity_from_cross_entropy,
    perplexity_from_probabilities,
)

PROBABILITIES = st.lists(st.floats(min_value=1e-300, max_value=1.0), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(probabilities=PROBABILITIES)
def test_root_and_cross_entropy_definitions_agree(probabilities):
    log_probs = [math.log(probability) for probability in probabilities]
    from_root = perplexity_from_probabilities(probabilities)
    assert perplexity(log_probs).perplexity == pytest.approx(from_root, rel=1e-10)
    assert perplexity(log_probs, unit="bits").perplexity == pytest.approx(from_root, rel=1e-10)


@pytest.mark.parametrize("vocab_size", [1, 2, 7, 50_000])
def test_uniform_model_has_perplexity_vocab_size(vocab_size):
    probabilities = [1 / vocab_size] * 1000
    log_probs = [-math.log(vocab_size)] * 1000
    assert perplexity_from_probabilities(probabilities) == pytest.approx(vocab_size, rel=1e-12)
    assert perplexity(log_probs).perplexity == pytest.approx(vocab_size, rel=1e-12)
    assert perplexity(log_probs, unit="bits").cross_entropy == pytest.approx(math.log2(vocab_size), abs=1e-12)


def test_uniform_logits_from_torch():
    log_probs = torch.log_softmax(torch.zeros(64, 100), dim=-1)[:, 3]
    result = perplexity(log_probs)
    assert result.perplexity == pytest.approx(100, rel=1e-6)
    assert result.num_tokens == 64


def test_bits_and_nats_are_one_log_two_apart():
    log_probs = [-0.1, -2.3, -0.7, -5.0]
    nats = cross_entropy(log_probs)
    bits = cross_entropy(log_probs, unit="bits")
    assert nats == pytest.approx(sum([0.1, 2.3, 0.7, 5.0]) / 4)
    assert bits == pytest.approx(nats / math.log(2))
    assert perplexity_from_cross_entropy(bits, unit="bits") == pytest.approx(perplexity_from_cross_entropy(nats))


@pytest.mark.parametrize("log_base", [2, 10])
def test_log_base_of_inputs(log_base):
    probabilities = [0.5, 0.25, 0.125]
    log_probs = [math.log(probability, log_base) for probability in probabilities]
    assert perplexity(log_probs, log_base=log_base).perplexity == pytest.approx(4.0)


def test_joint_probability_below_smallest_float():
    # The joint probability 1e-50000 underflows, but its 10000th root does not.
    assert perplexity_from_probabilities([1e-5] * 10_000) == pytest.approx(1e5, rel=1e-9)


def test_zero_probability_gives_infinity():
    assert perplexity_from_probabilities([0.5, 0.0]) == math.inf
    assert perplexity([-1.0, -math.inf]).perplexity == math.inf


def test_huge_cross_entropy_gives_infinity():
    assert perplexity([-800.0]).perplexity == math.inf
    assert perplexity_from_probabilities([5e-324]) == math.inf


def test_generator_input():
    assert perplexity(value for value in [-math.log(3)] * 4).perplexity == pytest.approx(3.0)
    assert perplexity(np.full(5, -math.log(3))).num_tokens == 5


@pytest.mark.parametrize("log_probs, fragment", [
    ([], "no tokens"),
    ([-1.0, 0.5], "log-probability 0.5 of token 1"),
    ([float("nan")], "log-probability nan of token 0"),
])
def test_invalid_log_probs_rejected(log_probs, fragment):
    with pytest.raises(DataError, match=fragment):
        perplexity(log_probs)


def test_invalid_probability_rejected():
    with pytest.raises(DataError, match="probability 1.5 of token 1"):
        perplexity_from_probabilities([0.5, 1.5])
    with pytest.raises(DataError, match="no tokens"):
        perplexity_from_probabilities([])


def test_invalid_options_rejected():
    with pytest.raises(ConfigError, match="unit='bytes'"):
        perplexity([-1.0], unit="bytes")
    with pytest.raises(ConfigError, match="log_base=1"):
        perplexity([-1.0], log_base=1)
