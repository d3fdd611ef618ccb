"""Export a byte-level ``BPETokenizer`` as a Hugging Face tokenizer.json file.

The file describes a ``BPE`` model over GPT-2's byte-to-character alphabet:
each byte value maps to one printable character, so the byte string of every
id becomes a vocabulary string. Bytes that are printable in Latin-1 (33-126,
161-172, 174-255) map to themselves, and the remaining 68 bytes map, in byte
order, to the characters U+0100, U+0101, and so on. Ids and merge order are
kept, so Hugging Face ``tokenizers`` returns the same ids as minbert.

Pre-tokenization per pattern:
    - ``"gpt2"``: the ``ByteLevel`` pre-tokenizer with ``use_regex=true``,
      whose built-in regex is the GPT-2 pattern.
    - ``"cl100k"``: a ``Split`` pre-tokenizer with the cl100k regex and
      ``"Isolated"`` behavior, then ``ByteLevel`` with ``use_regex=false``.
    - ``"none"``: ``ByteLevel`` with ``use_regex=false`` alone.
Special tokens become added tokens with ``"special": true``.

Reference: the tokenizer.json layout written by ``tokenizers`` 0.23
(``Tokenizer.to_str``), and the tests load the export with
``tokenizers.Tokenizer.from_file``.

Limitations:
    - Hugging Face always splits out added special tokens, which matches
      ``encode(text, allowed_special="all")``, not minbert's default.
    - A tokenizer whose merges create the same byte string twice cannot be
      exported, because the vocabulary maps each string to one id. Export
      raises ConfigError for such a tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

from minbert.atomic import write_text_atomic
from minbert.errors import ConfigError
from minbert.tokenizers.bpe import PATTERNS, BPETokenizer


def byte_to_unicode() -> dict[int, str]:
    """Map each byte value to the printable character that stands for it in byte-level vocabularies."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    mapping = {value: chr(value) for value in printable}
    next_code_point = 256
    for value in range(256):
        if value not in mapping:
            mapping[value] = chr(next_code_point)
            next_code_point += 1
    return mapping


def tokenizer_json(tokenizer: BPETokenizer) -> dict:
    """Build the tokenizer.json document for ``tokenizer`` as a JSON-ready dict."""
    alphabet = byte_to_unicode()
    merge_count = 256 + len(tokenizer.merges)

    # Vocabulary strings: the byte strings of the byte and merge ids, spelled in the byte alphabet.
    strings = ["".join(alphabet[value] for value in token) for token in tokenizer.token_bytes[:merge_count]]
    vocab: dict[str, int] = {}
    for token_id, string in enumerate(strings):
        if string in vocab:
            raise ConfigError(
                f"ids {vocab[string]} and {token_id} both spell {tokenizer.token_bytes[token_id]!r}, "
                "so the tokenizer cannot be written as tokenizer.json"
            )
        vocab[string] = token_id

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": token_id, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for token, token_id in tokenizer.special_token_ids.items()
        ],
        "normalizer": None,
        "pre_tokenizer": _pre_tokenizer(tokenizer.pattern),
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            # Take merges in rank order even when a whole chunk is in the vocabulary, as minbert does.
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[strings[left], strings[right]] for left, right in tokenizer.merges],
        },
    }


def save_tokenizer_json(tokenizer: BPETokenizer, path: str | Path) -> None:
    """Write ``tokenizer`` to ``path`` as a Hugging Face tokenizer.json file, atomically."""
    write_text_atomic(path, json.dumps(tokenizer_json(tokenizer), ensure_ascii=False) + "\n")


def _pre_tokenizer(pattern: str) -> dict:
    if pattern == "gpt2":
        return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    if pattern == "none":
        return byte_level
    split = {"type": "Split", "pattern": {"Regex": PATTERNS[pattern]}, "behavior": "Isolated", "invert": False}
    return {"type": "Sequence", "pretokenizers": [split, byte_level]}
