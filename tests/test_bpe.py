"""Byte-level BPE: hand-worked merges, round trips, special tokens, file errors, and agreement with tokenizers."""

import csv
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.errors import ConfigError, TokenizerError
from minbert.tokenizers import BPETokenizer
from minbert.tokenizers.bpe import split_chunks
from minbert.tokenizers.bpe_training import train_merges
from minbert.tokenizers.hf_export import byte_to_unicode, save_tokenizer_json

END_OF_TEXT = "<|endoftext|>"
PAD = "<|pad|>"
# Mixed scripts, emoji with a skin-tone modifier and a ZWJ sequence, and combining marks.
TRAINING_TEXT = (
    "The quick brown fox jumps over the lazy dog. It's 12345 o'clock!\n"
    "naïve café Ångström e\u0301te\u0301 \u0915\u094d\u0937 日本語のテキスト\n"
    "👍🏽 👨\u200d👩\u200d👧 🎉🎉 and again: the the the fox fox\r\n\t  spaces   end "
) * 3


@pytest.fixture(scope="module", params=["gpt2", "cl100k", "none"])
def trained(request) -> BPETokenizer:
    return BPETokenizer.train(TRAINING_TEXT, vocab_size=300, pattern=request.param, special_tokens=[END_OF_TEXT, PAD])


def test_textbook_example_merges_and_ids():
    tokenizer = BPETokenizer.train("aaabdaaabac", vocab_size=259, pattern="none")

    assert tokenizer.merges == ((97, 97), (97, 98), (256, 257))
    assert tokenizer.token_bytes[256:] == (b"aa", b"ab", b"aaab")
    assert tokenizer.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tokenizer.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"


def test_training_stops_when_no_pair_is_left(caplog):
    with caplog.at_level(logging.WARNING, logger="minbert.tokenizers.bpe_training"):
        tokenizer = BPETokenizer.train("ab", vocab_size=300, pattern="none")

    assert tokenizer.merges == ((97, 98),)
    assert tokenizer.vocab_size == 257
    assert "after 1 of 44 merges" in caplog.text


def naive_train(word_counts: dict[tuple[int, ...], int], num_merges: int) -> list[tuple[int, int]]:
    """Recount every pair after every merge: the slow definition that the incremental trainer must match."""
    words = {word: count for word, count in word_counts.items()}
    merges = []
    for new_id in range(256, 256 + num_merges):
        counts: dict[tuple[int, int], int] = {}
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] = counts.get(pair, 0) + count
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        merged_words: dict[tuple[int, ...], int] = {}
        for word, count in words.items():
            out, index = [], 0
            while index < len(word):
                if word[index:index + 2] == best:
                    out.append(new_id)
                    index += 2
                else:
                    out.append(word[index])
                    index += 1
            merged_words[tuple(out)] = merged_words.get(tuple(out), 0) + count
        words = merged_words
    return merges


@settings(max_examples=100, deadline=None)
@given(
    word_counts=st.dictionaries(
        st.lists(st.integers(97, 100), min_size=1, max_size=8).map(tuple), st.integers(1, 5), max_size=12
    ),
    num_merges=st.integers(1, 12),
)
def test_incremental_training_matches_recount(word_counts, num_merges):
    assert train_merges(word_counts, num_merges=num_merges) == naive_train(word_counts, num_merges)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.characters(exclude_categories=("Cs",)),
            st.sampled_from(["\u0301", "\u0308", "👍", "🏽", "\u200d", "🎉", "é", " ", "\n", "'", "1"]),
        ),
        max_size=40,
    )
)
def test_round_trip_any_text(trained, text):
    assert trained.decode(trained.encode(text)) == text


def test_round_trip_uses_merges(trained):
    ids = trained.encode(TRAINING_TEXT)

    assert len(ids) < len(TRAINING_TEXT.encode("utf-8"))
    assert trained.decode(ids) == TRAINING_TEXT


def test_lone_surrogate_raises(trained):
    with pytest.raises(ValueError, match="lone surrogate U\\+D800 at index 1"):
        trained.encode("a\ud800b")


def test_partial_utf8_decodes_to_replacement(trained):
    euro = "€".encode("utf-8")
    emoji = "🎉".encode("utf-8")

    assert trained.decode(list(euro[:2])) == "\ufffd"
    assert trained.decode([ord("a"), *emoji[:3], ord("b")]) == "a\ufffdb"


def test_decode_rejects_unknown_id(trained):
    with pytest.raises(ValueError, match=f"token id {trained.vocab_size} is out of range"):
        trained.decode([trained.vocab_size])


def test_special_tokens_allowed(trained):
    end_id = trained.special_token_ids[END_OF_TEXT]
    ids = trained.encode(f"fox{END_OF_TEXT}dog", allowed_special={END_OF_TEXT})

    assert end_id == 256 + len(trained.merges)
    assert ids == [*trained.encode("fox"), end_id, *trained.encode("dog")]
    assert trained.decode(ids) == f"fox{END_OF_TEXT}dog"
    assert trained.encode(PAD, allowed_special="all") == [trained.special_token_ids[PAD]]


def test_special_tokens_disallowed_raise(trained):
    with pytest.raises(ValueError, match="special token '<\\|pad\\|>', which is disallowed"):
        trained.encode(f"fox {PAD}")
    with pytest.raises(ValueError, match="'<\\|endoftext\\|>'"):
        trained.encode(f"{END_OF_TEXT}{PAD}", allowed_special={PAD})


def test_special_tokens_encoded_as_text(trained):
    ids = trained.encode(f"fox{END_OF_TEXT}", disallowed_special=())

    assert not set(ids) & set(trained.special_token_ids.values())
    assert trained.decode(ids) == f"fox{END_OF_TEXT}"


def test_special_tokens_unknown_name(trained):
    with pytest.raises(ConfigError, match="allowed_special names '<s>'"):
        trained.encode("fox", allowed_special={"<s>"})


def test_patterns_split_text():
    assert split_chunks("It's 12345 ok!!", pattern="gpt2") == ["It", "'s", " 12345", " ok", "!!"]
    assert split_chunks("It's 12345 ok!!", pattern="cl100k") == ["It", "'s", " ", "123", "45", " ok", "!!"]
    assert split_chunks("It's 12345 ok!!", pattern="none") == ["It's 12345 ok!!"]
    assert split_chunks("", pattern="none") == []


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k"])
def test_merges_never_cross_split(pattern):
    tokenizer = BPETokenizer.train("a b " * 50, vocab_size=270, pattern=pattern)

    assert all(b"a " not in token and b"b " not in token for token in tokenizer.token_bytes)
    assert tokenizer.encode("a b") == [*tokenizer.encode("a"), *tokenizer.encode(" b")]


def test_pattern_none_merges_across_spaces():
    tokenizer = BPETokenizer.train("a b " * 50, vocab_size=270, pattern="none")

    assert any(b"a " in token for token in tokenizer.token_bytes)


def test_save_load_round_trip(trained, tmp_path):
    path = tmp_path / "bpe.json"
    trained.save(path)
    loaded = BPETokenizer.load(path)

    assert loaded == trained
    assert loaded.encode(TRAINING_TEXT, allowed_special="all") == trained.encode(TRAINING_TEXT, allowed_special="all")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "other"}', "is not a minbert BPE tokenizer file"),
        ('{"format": "minbert-bpe", "version": 9}', "version 9 is not supported"),
        ('{"format": "minbert-bpe", "version": 1, "pattern": "gpt2", "special_tokens": [], "merges": [[1]]}',
         '"merges" must be a list'),
        ('{"format": "minbert-bpe", "version": 1, "pattern": "gpt2", "special_tokens": [], "merges": [[1, 256]]}',
         "merge 0 = \\(1, 256\\) uses an id"),
        ('{"format": "minbert-bpe", "version": 1, "pattern": "p", "special_tokens": [], "merges": []}',
         "pattern='p' is not a known pattern"),
    ],
)
def test_load_corrupt_file(tmp_path, content, message):
    path = tmp_path / "bpe.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(TokenizerError, match=message) as error:
        BPETokenizer.load(path)
    assert str(path) in str(error.value)


def test_load_truncated_file(trained, tmp_path):
    path = tmp_path / "bpe.json"
    trained.save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(TokenizerError, match="is not valid JSON") as error:
        BPETokenizer.load(path)
    assert str(path) in str(error.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(TokenizerError, match="not found"):
        BPETokenizer.load(tmp_path / "absent.json")


def test_vocab_size_too_small():
    with pytest.raises(ConfigError, match="vocab_size=256 is too small.* at least 257"):
        BPETokenizer.train("abc", vocab_size=256, special_tokens=[END_OF_TEXT])


@pytest.mark.parametrize("text", ["", [], ["", ""]])
def test_empty_training_text(text):
    with pytest.raises(ConfigError, match="training text is empty"):
        BPETokenizer.train(text, vocab_size=300)


def test_unknown_pattern_lists_names():
    expected = r"pattern='gpt4' is not a known pattern \(expected one of gpt2, cl100k, none\)"
    with pytest.raises(ConfigError, match=expected):
        BPETokenizer.train("abc", vocab_size=300, pattern="gpt4")


def test_byte_alphabet_is_printable_and_distinct():
    alphabet = byte_to_unicode()

    assert len(set(alphabet.values())) == 256
    assert all(character.isprintable() and not character.isspace() for character in alphabet.values())
    assert alphabet[ord("A")] == "A"
    assert alphabet[ord(" ")] == "\u0120"


def read_data_lines(data_dir) -> list[str]:
    lines = []
    for path in sorted(data_dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                lines.extend(row[column] for column in ("sentence", "sentence1", "sentence2") if row.get(column))
    return lines


@pytest.mark.data
@pytest.mark.parametrize("pattern", ["gpt2", "cl100k"])
def test_hf_export_matches_on_data(data_dir, tmp_path, pattern):
    from tokenizers import Tokenizer

    lines = read_data_lines(data_dir)
    tokenizer = BPETokenizer.train(lines[:2000], vocab_size=512, pattern=pattern, special_tokens=[END_OF_TEXT])
    path = tmp_path / "tokenizer.json"
    save_tokenizer_json(tokenizer, path)
    reference = Tokenizer.from_file(str(path))

    expected = [encoding.ids for encoding in reference.encode_batch(lines, add_special_tokens=False)]
    actual = [tokenizer.encode(line) for line in lines]
    mismatches = [line for line, ours, theirs in zip(lines, actual, expected) if ours != theirs]
    assert len(lines) > 10_000
    assert mismatches == []


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "none"])
def test_hf_export_matches_on_unicode(tmp_path, pattern):
    from tokenizers import Tokenizer

    tokenizer = BPETokenizer.train(TRAINING_TEXT, vocab_size=320, pattern=pattern, special_tokens=[END_OF_TEXT])
    path = tmp_path / "tokenizer.json"
    save_tokenizer_json(tokenizer, path)
    reference = Tokenizer.from_file(str(path))
    texts = [*TRAINING_TEXT.splitlines(keepends=True), f"fox{END_OF_TEXT}dog", "  \n\n 1234567 I'LL we'Ve"]

    for text in texts:
        assert reference.encode(text, add_special_tokens=False).ids == tokenizer.encode(text, allowed_special="all")
        ids = tokenizer.encode(text, allowed_special="all")
        assert reference.decode(ids, skip_special_tokens=False) == text
