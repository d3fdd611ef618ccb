"""Tests for minbert.metrics.bleu: a hand-worked score and agreement with sacrebleu to 1e-9."""

import csv
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU

from minbert.errors import ConfigError, DataError
from minbert.metrics.bleu import BleuConfig, corpus_bleu, sentence_bleu
from minbert.metrics.bleu_tokenizers import BLEU_TOKENIZERS

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def quora_pairs(data_dir):
    with open(data_dir / "quora-dev.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["sentence1"] for row in rows], [row["sentence2"] for row in rows]


def reference_metric(config: BleuConfig) -> BLEU:
    return BLEU(tokenize=config.tokenize, lowercase=config.lowercase, smooth_method=config.smooth_method,
                smooth_value=config.smooth_value, max_ngram_order=config.max_ngram_order,
                effective_order=config.effective_order)


def assert_same_score(ours, theirs):
    assert ours.score == pytest.approx(theirs.score, rel=0, abs=TOLERANCE)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, rel=0, abs=TOLERANCE)
    assert list(ours.precisions) == pytest.approx(theirs.precisions, rel=0, abs=TOLERANCE)
    assert ours.hyp_len == theirs.sys_len
    assert ours.ref_len == theirs.ref_len


def test_sentence_bleu_hand_worked():
    # Matches per order are 5/6, 3/5, 1/4 and 0/3, and exp smoothing turns the last into 1/(2*3).
    score = sentence_bleu("the cat sat on the mat", ["the cat is on the mat"])
    assert score.matches == (5, 3, 1, 0)
    assert score.totals == (6, 5, 4, 3)
    assert score.precisions == pytest.approx((500 / 6, 60.0, 25.0, 100 / 6))
    assert score.brevity_penalty == 1.0
    assert score.score == pytest.approx((500 / 6 * 60.0 * 25.0 * 100 / 6) ** 0.25)


def test_brevity_penalty_hand_worked():
    score = corpus_bleu(["a b c"], [["a b c d e f"]], config=BleuConfig(smooth_method="none"))
    assert score.brevity_penalty == pytest.approx(math.exp(1 - 6 / 3))
    assert score.precisions == (100.0, 100.0, 100.0, 0.0)
    assert score.score == 0.0


def test_closest_reference_length_prefers_shorter():
    # References of 3 and 5 tokens are equally close to 4, and BLEU takes 3.
    score = sentence_bleu("a b c d", ["a b c", "a b c d e"])
    assert score.ref_len == 3


def test_corpus_bleu_matches_sacrebleu_on_quora(quora_pairs):
    hypotheses, references = quora_pairs
    ours = corpus_bleu(hypotheses, [references])
    theirs = BLEU().corpus_score(hypotheses, [references])
    assert_same_score(ours, theirs)
    assert ours.signature == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|order:4|version:minbert-0.1.0"


def test_sentence_bleu_matches_sacrebleu_on_quora(quora_pairs):
    hypotheses, references = quora_pairs
    metric = BLEU(effective_order=True)
    ours = [sentence_bleu(hypothesis, [reference]).score for hypothesis, reference in zip(hypotheses, references)]
    theirs = [metric.sentence_score(hypothesis, [reference]).score
              for hypothesis, reference in zip(hypotheses, references)]
    differences = [index for index, (a, b) in enumerate(zip(ours, theirs)) if abs(a - b) > TOLERANCE]
    assert len(ours) == len(hypotheses)
    assert differences == []


CONFIGS = [
    BleuConfig(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth, effective_order=effective)
    for tokenize, lowercase, smooth, effective in itertools.product(
        sorted(BLEU_TOKENIZERS), (False, True), ("none", "floor", "add-k", "exp"), (False, True))
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: bleu_config_id(config))
def test_every_option_matches_sacrebleu_on_quora_sample(quora_pairs, config):
    hypotheses, references = quora_pairs[0][:200], quora_pairs[1][:200]
    metric = reference_metric(config)
    assert_same_score(corpus_bleu(hypotheses, [references], config=config),
                      metric.corpus_score(hypotheses, [references]))
    for hypothesis, reference in zip(hypotheses[:40], references[:40]):
        assert_same_score(sentence_bleu(hypothesis, [reference], config=config),
                          metric.sentence_score(hypothesis, [reference]))


def bleu_config_id(config: BleuConfig) -> str:
    return f"{config.tokenize}-{'lc' if config.lowercase else 'mixed'}-{config.smooth_method}" \
           f"-{'eff' if config.effective_order else 'full'}"


# Text that exercises every tokenizer rule: ASCII symbols, Unicode punctuation,
# symbols and digits, the entities and markers 13a rewrites, and whitespace.
FRAGMENTS = ["&quot;", "&amp;", "&amp;quot;", "&lt;", "&gt;", "<skipped>", "-\n", "3.5", "1,000", "4-5", "a.b",
             "Dr.", "U.S.", " . ", ",", "'s", "--", "\n", "\t", "\u00a0", "\u2028", "\u3000", "“", "”", "€",
             "½", "٣", "²", "¿", "…", "—", "漢字", "İ", "ß", "😀", "Ab", "ab", "the", "cat", "x"]
TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters(codec="utf-8")), max_size=24).map("".join)
WORDS = st.lists(st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "The", "."]), max_size=12).map(" ".join)
SEGMENT = st.one_of(TEXT, WORDS)

CONFIG = st.builds(
    lambda tokenize, lowercase, smooth, value, order, effective: BleuConfig(
        tokenize=tokenize, lowercase=lowercase, smooth_method=smooth,
        smooth_value=value if smooth in ("floor", "add-k") else None,
        max_ngram_order=order, effective_order=effective),
    st.sampled_from(sorted(BLEU_TOKENIZERS)), st.booleans(), st.sampled_from(["none", "floor", "add-k", "exp"]),
    st.one_of(st.none(), st.sampled_from([0.0, 0.01, 0.5, 1, 2.5])), st.integers(1, 5), st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    segments=st.integers(1, 5).flatmap(
        lambda count: st.tuples(st.lists(SEGMENT, min_size=count, max_size=count),
                                st.lists(st.lists(SEGMENT, min_size=count, max_size=count), min_size=1, max_size=3))),
    config=CONFIG,
)
def test_bleu_matches_sacrebleu_on_generated_text(segments, config):
    hypotheses, reference_streams = segments
    metric = reference_metric(config)
    assert_same_score(corpus_bleu(hypotheses, reference_streams, config=config),
                      metric.corpus_score(hypotheses, reference_streams))
    for index, hypothesis in enumerate(hypotheses):
        references = [stream[index] for stream in reference_streams]
        assert_same_score(sentence_bleu(hypothesis, references, config=config),
                          metric.sentence_score(hypothesis, references))


@settings(max_examples=200, deadline=None)
@given(line=TEXT, name=st.sampled_from(sorted(BLEU_TOKENIZERS)))
def test_tokenizers_match_sacrebleu(line, name):
    tokenizer = BLEU(tokenize=name).tokenizer
    assert BLEU_TOKENIZERS[name](line) == tokenizer(line).split()


def test_empty_hypothesis_and_reference():
    assert sentence_bleu("", ["a b"]).score == 0.0
    assert sentence_bleu("a b", [""]).score == 0.0
    empty = corpus_bleu(["", ""], [["", ""]])
    assert empty.score == 0.0
    assert empty.brevity_penalty == 1.0
    assert empty.ratio == 0.0


def test_variable_reference_count_matches_sacrebleu():
    hypotheses = ["the cat sat on the mat", "a dog barked"]
    streams = [["the cat is on the mat", "a dog barks"], ["a cat sat on a mat", None]]
    ours = corpus_bleu(hypotheses, streams)
    assert_same_score(ours, BLEU().corpus_score(hypotheses, streams))
    assert ours.signature.startswith("nrefs:var|")


def test_signature_names_every_setting():
    config = BleuConfig(tokenize="intl", lowercase=True, smooth_method="floor", max_ngram_order=3,
                        effective_order=True)
    score = sentence_bleu("a b", ["a b", "a c"], config=config)
    assert score.signature == "nrefs:2|case:lc|eff:yes|tok:intl|smooth:floor[0.10]|order:3|version:minbert-0.1.0"


@pytest.mark.parametrize("options, fragment", [
    ({"tokenize": "moses"}, "'moses'"),
    ({"smooth_method": "laplace"}, "'laplace'"),
    ({"max_ngram_order": 0}, "max_ngram_order=0"),
    ({"smooth_method": "exp", "smooth_value": 0.5}, "smooth_value=0.5"),
    ({"smooth_method": "floor", "smooth_value": -1.0}, "smooth_value=-1.0"),
])
def test_invalid_config_names_value(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        BleuConfig(**options)


def test_reference_stream_length_mismatch():
    with pytest.raises(DataError, match="reference stream 1 has 1 segments but there are 2 hypotheses"):
        corpus_bleu(["a", "b"], [["a", "b"], ["a"]])


def test_empty_corpus_rejected():
    with pytest.raises(DataError, match="no hypotheses"):
        corpus_bleu([], [[]])


def test_string_references_rejected():
    with pytest.raises(TypeError):
        sentence_bleu("a b", "a b")
