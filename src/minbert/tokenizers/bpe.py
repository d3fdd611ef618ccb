"""Byte-level BPE tokenizer: train merges on text, encode text to ids, decode ids to text, save and load.

Text is split into chunks by a pre-tokenization regex (``"gpt2"``,
``"cl100k"``, or ``"none"`` for the whole text as one chunk), and each chunk
is encoded as UTF-8 bytes. Ids 0-255 are the byte values, ids ``256 + i`` are
the merges in the order they were learned, and special tokens follow the
merges. Encoding a chunk repeats: among its adjacent pairs take the one with
the lowest merge rank and replace all its occurrences, left to right, until
no pair has a merge. So merges never cross a chunk boundary.

Reference: GPT-2 byte-level BPE (Radford et al., 2019). The regexes are the
pre-tokenization patterns of GPT-2 and of tiktoken's ``cl100k_base``. The
tests export a trained tokenizer with ``minbert.tokenizers.hf_export`` and
check identical ids from Hugging Face ``tokenizers`` on the shared data.

Limitations:
    - Special tokens in the training text are trained on as plain text.
    - Two merges can create the same byte string (for example ``(ab)c`` and
      ``a(bc)``). Encoding is still exact, but such a tokenizer cannot be
      exported to tokenizer.json, because its vocabulary maps each string
      to one id.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import regex

from minbert.atomic import write_text_atomic
from minbert.errors import ConfigError, ParameterError, TokenizerError
from minbert.tokenizers.bpe_training import Pair, merge_pair, train_merges

logger = logging.getLogger(__name__)

PATTERNS: dict[str, str | None] = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "cl100k": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
        r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
    ),
    "none": None,
}
PatternName = Literal["gpt2", "cl100k", "none"]
FILE_FORMAT = "minbert-bpe"
FILE_VERSION = 1
_MAX_CACHED_CHUNKS = 2**18


def check_pattern_name(pattern: str) -> None:
    """Raise ConfigError unless ``pattern`` is one of the names in ``PATTERNS``."""
    if pattern not in PATTERNS:
        raise ParameterError("pattern", pattern, f"is not a known pattern (expected one of {', '.join(PATTERNS)})")


def utf8_bytes(text: str) -> bytes:
    """Encode ``text`` as UTF-8, raising ValueError that names the first lone surrogate."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        code_point = ord(text[err.start])
        raise ValueError(
            f"text contains the lone surrogate U+{code_point:04X} at index {err.start}, which UTF-8 cannot encode"
        ) from None


@dataclass(frozen=True, kw_only=True)
class BPETokenizer:
    """A byte-level BPE tokenizer: the merges, the pre-tokenization pattern and the special tokens."""

    merges: tuple[Pair, ...]
    pattern: PatternName = "gpt2"
    special_tokens: tuple[str, ...] = ()
    _chunk_cache: dict[bytes, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_pattern_name(self.pattern)
        for rank, (left, right) in enumerate(self.merges):
            if not (0 <= left < 256 + rank and 0 <= right < 256 + rank):
                raise ConfigError(f"merge {rank} = ({left}, {right}) uses an id that no earlier merge created")
        if len(set(self.special_tokens)) != len(self.special_tokens) or "" in self.special_tokens:
            raise ConfigError(f"special_tokens={list(self.special_tokens)!r} must be distinct and non-empty")

    @classmethod
    def train(
        cls,
        text: str | Iterable[str],
        *,
        vocab_size: int,
        pattern: PatternName = "gpt2",
        special_tokens: Sequence[str] = (),
        show_progress: bool = False,
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``, a string or an iterable of lines."""
        check_pattern_name(pattern)
        minimum = 256 + len(special_tokens)
        if vocab_size < minimum:
            raise ParameterError(
                "vocab_size", vocab_size,
                f"is too small (expected at least {minimum} for the 256 bytes and {len(special_tokens)} special tokens)"
            )

        # Count each distinct chunk once; training works on these counts, not on the text.
        texts = [text] if isinstance(text, str) else text
        chunk_counts: Counter[bytes] = Counter()
        for line in texts:
            utf8_bytes(line)
            chunk_counts.update(chunk.encode("utf-8") for chunk in split_chunks(line, pattern=pattern))
        if not chunk_counts:
            raise ConfigError("the training text is empty: pass at least one non-empty string")
        logger.info("training BPE on %d distinct chunks for %d merges", len(chunk_counts), vocab_size - minimum)

        word_counts = {tuple(chunk): count for chunk, count in chunk_counts.items()}
        merges = train_merges(word_counts, num_merges=vocab_size - minimum, show_progress=show_progress)
        return cls(merges=tuple(merges), pattern=pattern, special_tokens=tuple(special_tokens))

    @property
    def vocab_size(self) -> int:
        """Number of ids: 256 bytes, the merges and the special tokens."""
        return 256 + len(self.merges) + len(self.special_tokens)

    @cached_property
    def special_token_ids(self) -> dict[str, int]:
        """Map from each special token to its id, which follows the last merge id."""
        first = 256 + len(self.merges)
        return {token: first + offset for offset, token in enumerate(self.special_tokens)}

    @cached_property
    def token_bytes(self) -> tuple[bytes, ...]:
        """Bytes of every id, where a special token is its UTF-8 text."""
        table = [bytes([value]) for value in range(256)]
        for left, right in self.merges:
            table.append(table[left] + table[right])
        table.extend(token.encode("utf-8") for token in self.special_tokens)
        return tuple(table)

    @cached_property
    def _merge_ranks(self) -> dict[Pair, int]:
        return {pair: rank for rank, pair in enumerate(self.merges)}

    def encode(
        self,
        text: str,
        *,
        allowed_special: Collection[str] | Literal["all"] = (),
        disallowed_special: Collection[str] | Literal["all"] = "all",
    ) -> list[int]:
        """Encode ``text`` to ids.

        A special token in ``allowed_special`` becomes its own id. One in
        ``disallowed_special`` raises ValueError, naming it, if it occurs in
        ``text``. Any other is encoded as plain text. ``"all"`` means every
        special token, except that for ``disallowed_special`` it means every
        one not allowed.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        allowed = self._resolve_special(allowed_special, name="allowed_special", everything=set(self.special_tokens))
        disallowed = self._resolve_special(
            disallowed_special, name="disallowed_special", everything=set(self.special_tokens) - allowed
        )
        # Check the whole text first, so that an error gives the index in ``text``, not in a chunk.
        utf8_bytes(text)
        for token in disallowed:
            if token in text:
                raise ValueError(
                    f"text contains the special token {token!r}, which is disallowed. Pass it in allowed_special "
                    "to encode it as a special token, or leave it out of disallowed_special to encode it as text"
                )

        # Split out the allowed special tokens, longest first, then encode the text between them.
        if not allowed:
            return self._encode_ordinary(text)
        alternatives = "|".join(regex.escape(token) for token in sorted(allowed, key=len, reverse=True))
        ids: list[int] = []
        for index, piece in enumerate(regex.split(f"({alternatives})", text)):
            if index % 2 == 1:
                ids.append(self.special_token_ids[piece])
            else:
                ids.extend(self._encode_ordinary(piece))
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Concatenate the bytes of ``ids``, raising ValueError that names any id outside the vocabulary."""
        table = self.token_bytes
        pieces = []
        for token_id in ids:
            if not 0 <= token_id < len(table):
                raise ValueError(f"token id {token_id} is out of range for a vocabulary of {len(table)} ids")
            pieces.append(table[token_id])
        return b"".join(pieces)

    def decode(self, ids: Iterable[int]) -> str:
        """Decode ``ids`` to text, replacing invalid or partial UTF-8 sequences with U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as JSON to ``path``, atomically."""
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "pattern": self.pattern,
            "special_tokens": list(self.special_tokens),
            "merges": [list(pair) for pair in self.merges],
        }
        write_text_atomic(path, json.dumps(document, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by ``save``, raising TokenizerError that names ``path`` if it is missing or malformed."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TokenizerError(f"BPE tokenizer file not found: {path}") from None
        except UnicodeDecodeError as err:
            raise TokenizerError(f"BPE tokenizer file {path} is not valid UTF-8 (byte {err.start})") from None
        except json.JSONDecodeError as err:
            raise TokenizerError(f"BPE tokenizer file {path} is not valid JSON: {err}") from None
        except OSError as err:
            raise TokenizerError(f"cannot read BPE tokenizer file {path}: {err.strerror}") from None
        return _tokenizer_from_document(document, path=path)

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for chunk in split_chunks(text, pattern=self.pattern):
            ids.extend(self._encode_chunk(chunk.encode("utf-8")))
        return ids

    def _encode_chunk(self, chunk: bytes) -> tuple[int, ...]:
        cached = self._chunk_cache.get(chunk)
        if cached is not None:
            return cached

        # Apply the lowest-ranked merge present, everywhere in the chunk, until no pair has a merge.
        ids = list(chunk)
        ranks = self._merge_ranks
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda candidate: ranks.get(candidate, len(ranks)))
            rank = ranks.get(pair)
            if rank is None:
                break
            ids = merge_pair(ids, pair=pair, new_id=256 + rank)

        encoded = tuple(ids)
        if len(self._chunk_cache) < _MAX_CACHED_CHUNKS:
            self._chunk_cache[chunk] = encoded
        return encoded

    def _resolve_special(
        self, value: Collection[str] | Literal["all"], *, name: str, everything: set[str]
    ) -> set[str]:
        if value == "all":
            return everything
        if isinstance(value, str):
            raise TypeError(f"{name} must be 'all' or a collection of str, got the str {value!r}")
        unknown = sorted(set(value) - set(self.special_tokens))
        if unknown:
            raise ConfigError(
                f"{name} names {unknown[0]!r}, which is not a special token of this tokenizer "
                f"(known: {list(self.special_tokens)!r})"
            )
        return set(value)


def split_chunks(text: str, *, pattern: PatternName) -> list[str]:
    """Split ``text`` into the pre-tokenization chunks of ``pattern``, where ``"none"`` keeps it whole."""
    compiled = _compiled_pattern(pattern)
    if compiled is None:
        return [text] if text else []
    return compiled.findall(text)


@cache
def _compiled_pattern(pattern: str) -> regex.Pattern | None:
    check_pattern_name(pattern)
    source = PATTERNS[pattern]
    return None if source is None else regex.compile(source)


def _tokenizer_from_document(document: object, *, path: Path) -> BPETokenizer:
    """Check the fields of a loaded JSON document and build the tokenizer, naming ``path`` in any error."""
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise TokenizerError(f"{path} is not a minbert BPE tokenizer file: expected \"format\": \"{FILE_FORMAT}\"")
    if document.get("version") != FILE_VERSION:
        raise TokenizerError(f"{path}: version {document.get('version')!r} is not supported (expected {FILE_VERSION})")
    merges = document.get("merges")
    special_tokens = document.get("special_tokens")
    if not isinstance(merges, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(type(value) is int for value in pair) for pair in merges
    ):
        raise TokenizerError(f"{path}: \"merges\" must be a list of [left id, right id] pairs of integers")
    if not isinstance(special_tokens, list) or not all(isinstance(token, str) for token in special_tokens):
        raise TokenizerError(f"{path}: \"special_tokens\" must be a list of strings")
    try:
        return BPETokenizer(
            merges=tuple((left, right) for left, right in merges),
            pattern=document.get("pattern"),
            special_tokens=tuple(special_tokens),
        )
    except ConfigError as err:
        raise TokenizerError(f"{path}: {err}") from None
