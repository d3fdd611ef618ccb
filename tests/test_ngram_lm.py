"""Tests for minbert.lm.NGramLM: hand-computed Kneser-Ney, normalisation, and add-k equal to NLTK."""

import csv
import itertools
import math
import random

import pytest
from nltk.lm import Laplace, Lidstone
from nltk.lm.vocabulary import Vocabulary

from minbert.errors import ConfigError, DataError
from minbert.lm import BOS, EOS, UNK, NGramConfig, NGramLM
from minbert.metrics.perplexity import perplexity

TINY_CORPUS = [["a", "b"], ["b"]]


@pytest.fixture(scope="module")
def sst_sentences(data_dir):
    with open(data_dir / "ids-sst-dev.csv", encoding="utf-8", newline="") as handle:
        sentences = [row["sentence"].lower().split() for row in csv.DictReader(handle, delimiter="\t")]
    return sentences[:800], sentences[800:]


def test_kneser_ney_bigram_hand_computed():
    # The padded text is "<s> a b </s>" and "<s> b </s>", V = {a, b, <unk>, </s>, <s>} and D = 1/2.
    model = NGramLM.train(TINY_CORPUS, config=NGramConfig(order=2, discount=0.5))
    assert model.vocabulary == {"a", "b", UNK, EOS, BOS}

    # Lowest-order continuation counts are a 1, b 2 (after a and <s>) and </s> 1, a total of 4 over 3 types.
    # P1(w) = max(N(w) - 1/2, 0) / 4 + (1/2 * 3/4) * 1/5
    unigram = {"a": 0.2, "b": 0.45, EOS: 0.2, UNK: 0.075, BOS: 0.075}
    for word, expected in unigram.items():
        assert model.probability(word, [UNK]) == pytest.approx(expected)

    # Bigrams: c(<s> a) = c(<s> b) = c(a b) = 1 and c(b </s>) = 2.
    assert model.probability("a", []) == pytest.approx(0.5 / 2 + 0.5 * 2 / 2 * 0.2)
    assert model.probability("b", []) == pytest.approx(0.5 / 2 + 0.5 * 2 / 2 * 0.45)
    assert model.probability("b", ["a"]) == pytest.approx(0.5 / 1 + 0.5 * 1 / 1 * 0.45)
    assert model.probability(EOS, ["b"]) == pytest.approx(1.5 / 2 + 0.5 * 1 / 2 * 0.2)

    # log P("a b") = log P(a | <s>) + log P(b | a) + log P(</s> | b)
    assert model.log_probs([["a", "b"]]) == pytest.approx([math.log(0.35), math.log(0.725), math.log(0.8)])


def test_add_k_hand_computed():
    # Bigram counts after "b": (b, </s>) twice, so c(b) = 2, and |V| = 5.
    model = NGramLM.train(TINY_CORPUS, config=NGramConfig(order=2, smoothing="add-k", k=0.5))
    assert model.probability(EOS, ["b"]) == pytest.approx((2 + 0.5) / (2 + 0.5 * 5))
    assert model.probability("a", ["b"]) == pytest.approx(0.5 / (2 + 0.5 * 5))
    assert model.probability("a", ["never-seen"]) == pytest.approx(1 / 5)


def test_lowest_order_uses_continuation_counts():
    # "francisco" occurs 5 times and "glasses" 3 times, but "francisco" only ever follows "san".
    corpus = [["san", "francisco"]] * 5 + [["red", "glasses"], ["new", "glasses"], ["my", "glasses"]]
    model = NGramLM.train(corpus, config=NGramConfig(order=2))
    # Continuation counts: francisco 1, glasses 3, san, red, new and my 1 each, </s> 2.
    # That makes a total of 10 over 7 types, and |V| = 9.
    assert model.probability("francisco", [UNK]) == pytest.approx(0.25 / 10 + 0.75 * 7 / 10 / 9)
    assert model.probability("glasses", [UNK]) == pytest.approx(2.25 / 10 + 0.75 * 7 / 10 / 9)


def test_start_symbol_probability_is_finite():
    model = NGramLM.train(TINY_CORPUS, config=NGramConfig(order=3))
    probability = model.probability(BOS, [BOS, BOS])
    assert 0 < probability < 1
    assert math.isfinite(math.log(probability))


def test_unseen_context_backs_off_to_lower_order():
    model = NGramLM.train(TINY_CORPUS, config=NGramConfig(order=3, discount=0.5))
    # The trigram contexts (b, a), (a, a) and (<unk>, a) are unseen, so all three take the bigram
    # level P2(b | a) = 1/2 + 1/2 * P1(b), with the same continuation counts as the bigram model above.
    for context in (["b", "a"], ["a", "a"], ["zzz", "a"]):
        assert model.probability("b", context) == pytest.approx(0.5 + 0.5 * 0.45)
    # The seen context (<s>, a) interpolates with that value.
    assert model.probability("b", ["a"]) == pytest.approx(0.5 + 0.5 * 0.725)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k"])
def test_probabilities_sum_to_one(sst_sentences, order, smoothing):
    train, _ = sst_sentences
    model = NGramLM.train(train[:300], config=NGramConfig(order=order, smoothing=smoothing, min_count=2))
    vocabulary = sorted(model.vocabulary)
    generator = random.Random(order)
    seen = [sentence[:index] for sentence in train[:300] for index in range(len(sentence))]
    contexts = generator.sample(seen, 5) + [[generator.choice(vocabulary) for _ in range(order - 1)]
                                             for _ in range(5)] + [[], [BOS, UNK], ["unknown-word"]]
    for context in contexts:
        total = math.fsum(model.probability(word, context) for word in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-12), context


def padded_ngrams(sentences: list[list[str]], order: int) -> list[list[tuple[str, ...]]]:
    """Pad like NGramLM (order-1 <s>, one </s>) and list each sentence's n-grams."""
    padded = [[BOS] * (order - 1) + sentence + [EOS] for sentence in sentences]
    return [[tuple(tokens[end - order + 1:end + 1]) for end in range(order - 1, len(tokens))] for tokens in padded]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("k", [1.0, 0.1])
def test_add_k_matches_nltk(sst_sentences, order, k):
    train, evaluation = sst_sentences
    ours = NGramLM.train(train, config=NGramConfig(order=order, smoothing="add-k", k=k, min_count=2))

    # NLTK fitted on the same padded n-grams, with its vocabulary built from the padded text.
    reference = Laplace(order, vocabulary=Vocabulary(unk_cutoff=2, unk_label=UNK)) if k == 1.0 \
        else Lidstone(k, order, vocabulary=Vocabulary(unk_cutoff=2, unk_label=UNK))
    padded_text = [[BOS] * (order - 1) + sentence + [EOS] for sentence in train]
    reference.fit(padded_ngrams(train, order), vocabulary_text=itertools.chain.from_iterable(padded_text))
    assert len(reference.vocab) == len(ours.vocabulary)

    ngrams = list(itertools.chain.from_iterable(padded_ngrams(evaluation, order)))
    for ngram in ngrams:
        assert ours.probability(ngram[-1], ngram[:-1]) == pytest.approx(
            reference.score(ngram[-1], ngram[:-1]), rel=1e-12), ngram
    assert perplexity(ours.log_probs(evaluation)).perplexity == pytest.approx(reference.perplexity(ngrams),
                                                                              rel=1e-9)


def test_kneser_ney_beats_laplace_on_held_out_text(sst_sentences):
    train, evaluation = sst_sentences
    kneser_ney = NGramLM.train(train, config=NGramConfig(order=3, min_count=2))
    laplace = NGramLM.train(train, config=NGramConfig(order=3, smoothing="add-k", min_count=2))
    assert perplexity(kneser_ney.log_probs(evaluation)).perplexity < perplexity(laplace.log_probs(evaluation)).perplexity


def test_rare_words_become_unknown():
    model = NGramLM.train([["a", "a", "b"]], config=NGramConfig(order=2, min_count=2))
    assert "b" not in model.vocabulary
    assert model.probability("b", ["a"]) == model.probability(UNK, ["a"])
    assert model.probability("c", ["a"]) == model.probability(UNK, ["a"])


@pytest.mark.parametrize("options, fragment", [
    ({"order": 0}, "order=0"),
    ({"smoothing": "witten-bell"}, "'witten-bell'"),
    ({"k": 0.0}, "k=0.0"),
    ({"discount": 1.5}, "discount=1.5"),
    ({"min_count": 0}, "min_count=0"),
])
def test_invalid_config_rejected(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        NGramConfig(**options)


def test_reserved_token_rejected():
    with pytest.raises(DataError, match="sentence 1 contains the reserved token '</s>'"):
        NGramLM.train([["a"], ["b", EOS]])


def test_string_sentence_rejected():
    with pytest.raises(TypeError, match="sentence 0 is a string"):
        NGramLM.train(["a b"])


def test_empty_training_set_rejected():
    with pytest.raises(DataError, match="no training sentences"):
        NGramLM.train([])
