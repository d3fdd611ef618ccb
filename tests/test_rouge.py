"""Tests for minbert.metrics.rouge: hand-worked scores and agreement with rouge-score to 1e-9."""

import csv
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer, scoring

from minbert.errors import ConfigError, DataError
from minbert.metrics.rouge import (
    RougeConfig,
    RougeScore,
    bootstrap_interval,
    corpus_rouge,
    lcs_length,
    lcs_positions,
    score_rouge,
    tokenize,
)

TOLERANCE = 1e-9
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


@pytest.fixture(scope="module")
def quora_pairs(data_dir):
    with open(data_dir / "quora-dev.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["sentence1"] for row in rows], [row["sentence2"] for row in rows]


def mismatches(ours: list[dict], theirs: list[dict], rouge_types: list[str]) -> list[tuple]:
    """List (pair index, type, field, ours, theirs) for every value that differs by more than the tolerance."""
    found = []
    for index, (our_scores, their_scores) in enumerate(zip(ours, theirs)):
        for rouge_type in rouge_types:
            for field in ("precision", "recall", "fmeasure"):
                a, b = getattr(our_scores[rouge_type], field), getattr(their_scores[rouge_type], field)
                if abs(a - b) > TOLERANCE:
                    found.append((index, rouge_type, field, a, b))
    return found


def test_rouge_hand_worked():
    scores = score_rouge(hypothesis="the cat sat on the mat", reference="the cat is on the mat")
    # The shared unigrams are the (twice), cat, on and mat of 6 each.
    # The shared bigrams are "the cat", "on the" and "the mat" of 5 each.
    assert scores["rouge1"] == RougeScore(precision=5 / 6, recall=5 / 6, fmeasure=pytest.approx(5 / 6))
    assert scores["rouge2"] == RougeScore(precision=3 / 5, recall=3 / 5, fmeasure=pytest.approx(3 / 5))
    # LCS "the cat on the mat" has 5 tokens.
    assert scores["rougeL"].precision == 5 / 6
    assert scores["rougeLsum"] == scores["rougeL"]


def test_rouge_lsum_takes_union_of_lcs():
    # Reference "a b" has LCS "b" with hypothesis line 1 and "a" with line 2, so both tokens are hits.
    scores = score_rouge(hypothesis="b\na", reference="a b")
    assert scores["rougeLsum"].recall == 1.0
    assert scores["rougeL"].recall == 0.5


def test_rouge_lsum_clips_hits_by_counts():
    # Both reference sentences match the one "a" of the hypothesis, which counts once.
    scores = score_rouge(hypothesis="a", reference="a\na")
    assert scores["rougeLsum"].recall == 0.5
    assert scores["rougeLsum"].precision == 1.0


def test_tokenize_lowercases_and_stems():
    assert tokenize("The QUICK, brown-fox's 3rd") == ["the", "quick", "brown", "fox", "s", "3rd"]
    assert tokenize("Running dogs ran", use_stemmer=True) == ["run", "dog", "ran"]


def test_empty_text_scores_zero():
    for hypothesis, reference in [("", "a b"), ("a b", ""), ("", ""), ("!!!", "a")]:
        scores = score_rouge(hypothesis=hypothesis, reference=reference)
        for rouge_type in ROUGE_TYPES:
            assert scores[rouge_type] == RougeScore(precision=0.0, recall=0.0, fmeasure=0.0)


def test_rouge_matches_reference_on_quora(quora_pairs):
    hypotheses, references = quora_pairs
    ours = corpus_rouge(hypotheses=hypotheses, references=references)
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES)
    theirs = [scorer.score(reference, hypothesis) for hypothesis, reference in zip(hypotheses, references)]
    assert len(ours) == len(hypotheses)
    assert mismatches(ours, theirs, ROUGE_TYPES) == []


def test_stemmed_rouge_matches_reference_on_quora_sample(quora_pairs):
    hypotheses, references = quora_pairs[0][:2000], quora_pairs[1][:2000]
    ours = corpus_rouge(hypotheses=hypotheses, references=references, config=RougeConfig(use_stemmer=True))
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    theirs = [scorer.score(reference, hypothesis) for hypothesis, reference in zip(hypotheses, references)]
    assert mismatches(ours, theirs, ROUGE_TYPES) == []


# Few distinct words, so that LCS ties and repeated tokens are common, plus
# punctuation, case, non-ASCII letters that lowercase to ASCII and newlines.
WORDS = st.sampled_from(["a", "b", "c", "the", "cats", "running", "ran", "A", "B.", "İ", "\u212a", "x-y",
                         "", "\n", "\n\n", "  ", ",", "généralement", "3"])
TEXT = st.lists(WORDS, max_size=25).map(" ".join)
MULTILINE = st.lists(st.lists(WORDS, max_size=8).map(" ".join), max_size=5).map("\n".join)


@settings(max_examples=200, deadline=None)
@given(hypothesis=st.one_of(TEXT, MULTILINE), reference=st.one_of(TEXT, MULTILINE), use_stemmer=st.booleans())
def test_rouge_matches_reference_on_generated_text(hypothesis, reference, use_stemmer):
    rouge_types = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
    ours = score_rouge(hypothesis=hypothesis, reference=reference,
                 config=RougeConfig(rouge_types=tuple(rouge_types), use_stemmer=use_stemmer))
    theirs = rouge_scorer.RougeScorer(rouge_types, use_stemmer=use_stemmer).score(reference, hypothesis)
    assert mismatches([ours], [theirs], rouge_types) == []


TOKENS = st.lists(st.sampled_from("abcd"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(ref=TOKENS, hyp=TOKENS)
def test_lcs_matches_reference_backtracking(ref, hyp):
    table = rouge_scorer._lcs_table(ref, hyp)
    assert lcs_length(ref, hyp) == table[-1][-1]
    assert lcs_positions(ref, hyp) == rouge_scorer.lcs_ind(ref, hyp)


def test_bootstrap_interval_of_constant_scores():
    constant = {"rouge1": RougeScore(precision=0.5, recall=0.25, fmeasure=1 / 3)}
    interval = bootstrap_interval([constant] * 10, num_samples=50)["rouge1"]
    for bound in (interval.low, interval.mid, interval.high):
        assert bound.precision == pytest.approx(0.5)
        assert bound.recall == pytest.approx(0.25)
        assert bound.fmeasure == pytest.approx(1 / 3)


def test_bootstrap_interval_is_seeded():
    scores = [{"rougeL": RougeScore(precision=p, recall=p, fmeasure=p)} for p in np.linspace(0, 1, 30)]
    assert bootstrap_interval(scores, seed=3) == bootstrap_interval(scores, seed=3)
    assert bootstrap_interval(scores, seed=3) != bootstrap_interval(scores, seed=4)


def test_bootstrap_interval_agrees_with_reference(quora_pairs):
    hypotheses, references = quora_pairs[0][:2000], quora_pairs[1][:2000]
    scores = corpus_rouge(hypotheses=hypotheses, references=references,
                          config=RougeConfig(rouge_types=("rouge1",)))
    ours = bootstrap_interval(scores, num_samples=1000, seed=0)["rouge1"]

    aggregator = scoring.BootstrapAggregator(n_samples=1000)
    for score in scores:
        ours_score = score["rouge1"]
        aggregator.add_scores({"rouge1": scoring.Score(precision=ours_score.precision, recall=ours_score.recall,
                                                       fmeasure=ours_score.fmeasure)})
    np.random.seed(0)
    theirs = aggregator.aggregate()["rouge1"]

    # Different random draws: the bounds agree to a fraction of the interval's half-width.
    values = np.array([score["rouge1"].fmeasure for score in scores])
    half_width = 1.96 * values.std() / math.sqrt(len(values))
    assert ours.mid.fmeasure == pytest.approx(values.mean())
    assert abs(ours.mid.fmeasure - theirs.mid.fmeasure) < 0.2 * half_width
    assert abs(ours.low.fmeasure - theirs.low.fmeasure) < 0.2 * half_width
    assert abs(ours.high.fmeasure - theirs.high.fmeasure) < 0.2 * half_width
    assert abs(ours.low.fmeasure - (values.mean() - half_width)) < 0.2 * half_width


def test_unknown_rouge_type_rejected():
    with pytest.raises(ConfigError, match="'rougeX'"):
        RougeConfig(rouge_types=("rouge1", "rougeX"))


def test_corpus_length_mismatch_rejected():
    with pytest.raises(DataError, match="2 hypotheses but 1 references"):
        corpus_rouge(hypotheses=["a", "b"], references=["a"])


@pytest.mark.parametrize("options, fragment", [
    ({"confidence": 1.5}, "confidence=1.5"),
    ({"num_samples": 0}, "num_samples=0"),
])
def test_bootstrap_invalid_options_rejected(options, fragment):
    scores = [{"rouge1": RougeScore(precision=1.0, recall=1.0, fmeasure=1.0)}]
    with pytest.raises(ConfigError, match=fragment):
        bootstrap_interval(scores, **options)
