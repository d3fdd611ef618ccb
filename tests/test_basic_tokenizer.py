"""Tests for minbert.tokenizers.basic against transformers' pure-Python BERT BasicTokenizer."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.tokenizers.basic import (
    basic_tokenize,
    is_cjk_ideograph,
    is_control,
    is_punctuation,
    is_whitespace,
)

try:  # transformers 5.x
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer as ReferenceBasicTokenizer
    from transformers.tokenization_python import _is_control, _is_punctuation, _is_whitespace
except ImportError:  # transformers 4.x
    from transformers.models.bert.tokenization_bert import BasicTokenizer as ReferenceBasicTokenizer
    from transformers.tokenization_utils import _is_control, _is_punctuation, _is_whitespace

# Every code point of planes 0-2 (where nearly all assigned characters are),
# plus the tag and variation-selector block, the start of the private-use
# planes and the last code points of Unicode.
CODE_POINTS = [
    *range(0xD800),
    *range(0xE000, 0x30000),
    *range(0xE0000, 0xE0200),
    *range(0xF0000, 0xF0100),
    *range(0x10FF00, 0x110000),
]

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(" \t\n\r\x0b\x00\ufffd\u200b\u00ad\u2028\u0301ΣςİıđÅ漢カ-–—.'$😀"),
    ),
    max_size=60,
)


def reference_words(text: str, *, lowercase: bool) -> list[str]:
    return ReferenceBasicTokenizer(do_lower_case=lowercase).tokenize(text)


def test_is_whitespace_matches_reference():
    mismatches = [hex(cp) for cp in CODE_POINTS if is_whitespace(chr(cp)) != _is_whitespace(chr(cp))]
    assert mismatches == []


def test_is_control_matches_reference():
    mismatches = [hex(cp) for cp in CODE_POINTS if is_control(chr(cp)) != _is_control(chr(cp))]
    assert mismatches == []


def test_is_punctuation_matches_reference():
    mismatches = [hex(cp) for cp in CODE_POINTS if is_punctuation(chr(cp)) != _is_punctuation(chr(cp))]
    assert mismatches == []


def test_is_cjk_ideograph_matches_reference():
    reference = ReferenceBasicTokenizer()
    mismatches = [hex(cp) for cp in CODE_POINTS if is_cjk_ideograph(chr(cp)) != reference._is_chinese_char(cp)]
    assert mismatches == []


def test_ascii_punctuation_outside_unicode_p():
    # "$", "+", "^" and "`" are symbols (S*) in Unicode but punctuation for BERT.
    for char in "$+^`":
        assert not unicodedata.category(char).startswith("P")
        assert is_punctuation(char)
    assert basic_tokenize("a$b+c^d`e") == ["a", "$", "b", "+", "c", "^", "d", "`", "e"]


def test_uncased_lowercases_and_strips_accents():
    assert basic_tokenize("Héllo,  WORLD!") == ["hello", ",", "world", "!"]


def test_cased_keeps_case_and_accents():
    assert basic_tokenize("Héllo,  WORLD!", lowercase=False) == ["Héllo", ",", "WORLD", "!"]


def test_cjk_ideographs_become_words():
    assert basic_tokenize("我爱ab漢字") == ["我", "爱", "ab", "漢", "字"]


def test_line_and_paragraph_separators_split_words():
    # U+2028 and U+2029 are not Zs, but str.split treats them as whitespace.
    assert basic_tokenize("a\u2028b\u2029c") == ["a", "b", "c"]


def test_never_split_word_kept_whole():
    words = basic_tokenize("x [MASK] y[MASK]", never_split=frozenset({"[MASK]"}))
    assert words == ["x", "[MASK]", "y", "[", "mask", "]"]


def test_never_split_found_after_cleaning():
    # The zero-width space is deleted first, so the word equals "[MASK]".
    assert basic_tokenize("[MA\u200bSK]", never_split=frozenset({"[MASK]"})) == ["[MASK]"]


@pytest.mark.parametrize("text", ["", " ", "\t\n\r ", "\u200b\u00ad", "\u0301"])
def test_blank_text_gives_no_words(text):
    assert basic_tokenize(text) == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=TEXT)
def test_uncased_matches_reference(text):
    assert basic_tokenize(text) == reference_words(text, lowercase=True)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=TEXT)
def test_cased_matches_reference(text):
    assert basic_tokenize(text, lowercase=False) == reference_words(text, lowercase=False)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80))
def test_ascii_text_matches_reference(text):
    assert basic_tokenize(text) == reference_words(text, lowercase=True)
    assert basic_tokenize(text, lowercase=False) == reference_words(text, lowercase=False)
