"""Tests for minbert.metrics.porter: Porter's examples and agreement with NLTK's PorterStemmer."""

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.stem.porter import PorterStemmer

from minbert.metrics.porter import stem
from minbert.metrics.rouge import tokenize

# Words from the rule tables of Porter (1980), with the full five-step stem.
PORTER_EXAMPLES = [
    ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
    ("plastered", "plaster"), ("bled", "bled"), ("motoring", "motor"), ("sing", "sing"),
    ("conflated", "conflat"), ("sized", "size"), ("hopping", "hop"), ("falling", "fall"),
    ("hissing", "hiss"), ("fizzed", "fizz"), ("failing", "fail"), ("filing", "file"), ("happy", "happi"),
    ("relational", "relat"), ("conditional", "condit"), ("rational", "ration"), ("digitizer", "digit"),
    ("vietnamization", "vietnam"), ("predication", "predic"), ("feudalism", "feudal"),
    ("decisiveness", "decis"), ("hopefulness", "hope"), ("callousness", "callous"),
    ("triplicate", "triplic"), ("formative", "form"), ("electrical", "electr"), ("goodness", "good"),
    ("revival", "reviv"), ("allowance", "allow"), ("airliner", "airlin"), ("replacement", "replac"),
    ("adoption", "adopt"), ("communism", "commun"), ("effective", "effect"), ("bowdlerize", "bowdler"),
    ("probate", "probat"), ("rate", "rate"), ("cease", "ceas"), ("controll", "control"), ("roll", "roll"),
]

# Cases where NLTK's default mode departs from the published rules.
NLTK_EXTENSION_EXAMPLES = [
    ("ties", "tie"), ("dying", "die"), ("skies", "sky"), ("news", "news"), ("succeed", "succeed"),
    ("spied", "spi"), ("died", "die"), ("enjoy", "enjoy"), ("radicalli", "radic"), ("conformabli", "conform"),
    ("archaeology", "archaeolog"), ("generously", "gener"), ("as", "as"), ("IS", "is"), ("Running", "run"),
]


@pytest.mark.parametrize("word, expected", PORTER_EXAMPLES + NLTK_EXTENSION_EXAMPLES)
def test_stem_known_words(word, expected):
    assert stem(word) == expected


def shared_words(data_dir) -> set[str]:
    """Every whitespace-separated word and every ROUGE token in the text columns of the shared files."""
    words = set()
    for path in sorted(data_dir.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                for column in ("sentence", "sentence1", "sentence2"):
                    if row.get(column):
                        words.update(row[column].split())
                        words.update(tokenize(row[column]))
    return words


def test_stem_matches_nltk_on_shared_data(data_dir):
    words = sorted(shared_words(data_dir))
    reference = PorterStemmer()
    mismatches = [(word, stem(word), reference.stem(word)) for word in words if stem(word) != reference.stem(word)]
    assert len(words) > 50_000
    assert mismatches == []


# Letters weighted toward vowels and y, plus the suffixes the rules look for.
SUFFIXES = ["ies", "ied", "eed", "ed", "ing", "ational", "alli", "bli", "logi", "fulli", "ousli", "ization",
            "iveness", "icate", "ical", "ness", "ement", "ion", "ll", "e", "y", "s", "sses", "at", "bl", "iz"]
WORD = st.tuples(
    st.text(alphabet="aeiouybcdlmnrstwxz", min_size=0, max_size=10),
    st.sampled_from(["", *SUFFIXES]),
).map("".join)


@settings(max_examples=200, deadline=None)
@given(word=WORD)
def test_stem_matches_nltk_on_generated_words(word):
    assert stem(word) == PorterStemmer().stem(word)
