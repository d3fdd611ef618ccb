"""WordPiece tokenizer for BERT: text to ids with [CLS]/[SEP] framing, truncation, padding, and back.

Each word from ``basic_tokenize`` is split greedily, longest match first: the
longest vocabulary entry that starts the word, then the longest ``##`` entry
that continues it, and so on. A word that cannot be covered this way, or that
has more than 100 characters, becomes a single ``[UNK]``. For example, with
the 30,522-entry uncased vocabulary of all-MiniLM-L6-v2, ``"unaffable"``
becomes ``una ##ffa ##ble``.

Reference: ``BertTokenizerLegacy`` (pure Python) in transformers 5.x. The
tests check identical ids on every sentence of the shared data files and on
generated Unicode text, and compare with the Rust-backed ``BertTokenizer``
where the two transformers tokenizers agree.

Limitations:
    - Only BERT's five special tokens are known; there are no added tokens.
    - ``decode`` cannot restore case, accents or spacing removed by
      normalisation.
    - The per-word cache stops growing at 2**18 distinct words; rarer words
      seen after that are split again on every call.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from minbert.atomic import write_text_atomic
from minbert.errors import TokenizerError
from minbert.tokenizers.basic import basic_tokenize

if TYPE_CHECKING:
    import numpy as np
    import torch

logger = logging.getLogger(__name__)

PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN = SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_WORD_CHARS = 100
_MAX_CACHED_WORDS = 2**18
_SPECIAL_TOKEN_SET = frozenset(SPECIAL_TOKENS)
# transformers' clean_up_tokenization: the order matters, " ' " must go before " 's".
_CLEAN_UP_REPLACEMENTS = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
    (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)
# The capturing group makes re.split return the special tokens at odd positions.
_SPECIAL_TOKEN_PATTERN = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")


@dataclass(frozen=True)
class Encoding:
    """One encoded input, ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``, as parallel lists."""

    ids: list[int]
    token_type_ids: list[int]
    attention_mask: list[int]
    tokens: list[str]


@dataclass(frozen=True)
class BatchEncoding:
    """A padded batch: int64 arrays or tensors of shape (B, T), T the longest row."""

    input_ids: torch.Tensor | np.ndarray
    token_type_ids: torch.Tensor | np.ndarray
    attention_mask: torch.Tensor | np.ndarray


def read_vocab(path: str | Path) -> list[str]:
    """Read a vocab.txt file: one token per line, the line number is its id.

    A leading UTF-8 byte-order mark is dropped, because some editors add one, while the first line of a
    BERT vocabulary is a special token such as [PAD].
    """
    try:
        # Text mode reads "\r\n" and "\r" line ends as "\n", as transformers does.
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
    except FileNotFoundError:
        raise TokenizerError(f"vocabulary file not found: {path}") from None
    except UnicodeDecodeError as err:
        raise TokenizerError(f"vocabulary file {path} is not valid UTF-8 (byte {err.start})") from None
    except OSError as err:
        raise TokenizerError(f"cannot read vocabulary file {path}: {err.strerror}") from None

    tokens = text.split("\n")
    if tokens[-1] == "":
        tokens.pop()
    return tokens


def truncate_longest_first(
    first: list[int], second: list[int] | None, budget: int
) -> tuple[list[int], list[int] | None]:
    """Cut tokens from the ends of ``first`` and ``second`` until together they have at most ``budget``.

    Tokens go one at a time from the longer sequence, and from ``second`` when
    both are equally long, as transformers' pure-Python tokenizers do for
    ``truncation="longest_first"``. This is the closed form of that loop.
    """
    if second is None:
        return (first if len(first) <= budget else first[:budget]), None
    excess = len(first) + len(second) - budget
    if excess <= 0:
        return first, second

    # First the longer one shrinks to the length of the shorter, then they alternate.
    from_longer = min(abs(len(first) - len(second)), excess)
    alternating = excess - from_longer
    drop_first = alternating // 2 + (from_longer if len(first) > len(second) else 0)
    drop_second = excess - drop_first
    return first[: len(first) - drop_first], second[: len(second) - drop_second]


class WordPieceTokenizer:
    """BERT's WordPiece tokenizer with the five special tokens [PAD] [UNK] [CLS] [SEP] [MASK].

    Special-token strings in raw text, such as ``[MASK]``, stay one token, as in
    transformers (``[mask]`` is split into ``[``, ``mask``, ``]``).

    Known differences between the two transformers 5.x tokenizers, measured
    with tokenizers 0.23 and Python 3.11 (Unicode 14.0). This class follows
    the pure-Python ``BertTokenizerLegacy`` in each case; the Rust-backed
    ``BertTokenizer`` differs:

    - Final sigma: Python's ``str.lower`` writes ``Σ`` at the end of a word
      as ``ς``; the Rust one always writes ``σ``.
    - Unicode versions: the pure-Python one deletes code points unassigned in
      Unicode 14.0 (category Cn, e.g. U+0378 and U+10FFFF), which the Rust
      one keeps. The Rust one's character tables are older than Unicode 14.0,
      so it keeps recently added characters inside the word instead of
      splitting off the punctuation mark U+061D or stripping the nonspacing
      mark U+0898. Both differences usually make the Rust one return
      ``[UNK]`` for the word. Private-use
      characters (Co) are deleted by both.
    - CJK extension range U+2B820..U+2B91F: the pure-Python one spaces these
      out as ideographs; the Rust one keeps them inside the word.
    - A special token that appears only after normalisation, such as
      ``[MA\\u200bSK]`` (U+200B is deleted) or ``[MAS\\u212a]`` (NFC turns
      the Kelvin sign into ``K``): the pure-Python one returns ``[MASK]``, the
      Rust one ``[``, ``mask``, ``]``.
    - Pair truncation ties: when both sequences are equally long and an odd
      number of tokens must go, the pure-Python one cuts the extra token from
      the second sequence, the Rust one from the first.
    """

    def __init__(self, tokens: Sequence[str], *, lowercase: bool = True, model_max_length: int = 512) -> None:
        """Build a tokenizer from its vocabulary, ``tokens[i]`` being the token with id ``i``.

        Raises TokenizerError if a special token is missing, and ValueError if
        ``model_max_length`` cannot hold the three special tokens of a pair.
        """
        missing = [token for token in SPECIAL_TOKENS if token not in tokens]
        if missing:
            raise TokenizerError(f"vocabulary has no {missing[0]} token (required: {' '.join(SPECIAL_TOKENS)})")
        if model_max_length < 3:
            raise ValueError(f"model_max_length={model_max_length} is too small: [CLS] a [SEP] b [SEP] needs 3")

        self._tokens = list(tokens)
        # A duplicated token keeps its last id, like transformers' load_vocab.
        self._token_to_id = {token: index for index, token in enumerate(self._tokens)}
        if len(self._token_to_id) < len(self._tokens):
            logger.warning("vocabulary has %d duplicated tokens", len(self._tokens) - len(self._token_to_id))
        self._lowercase = lowercase
        self._model_max_length = model_max_length
        self._pad_id, self._unk_id, self._cls_id, self._sep_id, self._mask_id = (
            self._token_to_id[token] for token in SPECIAL_TOKENS
        )

        # Pieces after the first are looked up without their "##", which saves a
        # string concatenation per lookup. No candidate is longer than the longest entry.
        self._continuation_to_id = {
            token[2:]: index for token, index in self._token_to_id.items() if token.startswith("##")
        }
        self._max_piece_chars = max(map(len, self._tokens))
        self._max_continuation_chars = max(map(len, self._continuation_to_id), default=0)
        self._word_cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_vocab(
        cls, path: str | Path, *, lowercase: bool = True, model_max_length: int = 512
    ) -> WordPieceTokenizer:
        """Load a tokenizer from a vocab.txt file. A TokenizerError names the file if it is unusable."""
        tokens = read_vocab(path)
        try:
            return cls(tokens, lowercase=lowercase, model_max_length=model_max_length)
        except TokenizerError as err:
            raise TokenizerError(f"{path}: {err}") from None

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        *,
        vocab_size: int,
        lowercase: bool = True,
        score: Literal["likelihood", "count"] = "count",
        show_progress: bool = False,
    ) -> WordPieceTokenizer:
        """Learn a vocabulary of at most ``vocab_size`` tokens from ``texts`` (see ``train_wordpiece``)."""
        # Imported here because wordpiece_training imports this module.
        from minbert.tokenizers.wordpiece_training import train_wordpiece

        tokens = train_wordpiece(
            texts, vocab_size=vocab_size, lowercase=lowercase, score=score, show_progress=show_progress
        )
        return cls(tokens, lowercase=lowercase)

    def __repr__(self) -> str:
        return (
            f"WordPieceTokenizer(vocab_size={self.vocab_size}, lowercase={self._lowercase}, "
            f"model_max_length={self._model_max_length})"
        )

    @property
    def vocab(self) -> dict[str, int]:
        """A copy of the token-to-id mapping."""
        return dict(self._token_to_id)

    @property
    def vocab_size(self) -> int:
        """Number of ids, the lines of vocab.txt."""
        return len(self._tokens)

    @property
    def lowercase(self) -> bool:
        """Whether text is lowercased and stripped of accents (uncased model)."""
        return self._lowercase

    @property
    def model_max_length(self) -> int:
        """Length that ``encode`` truncates to when no ``max_length`` is given."""
        return self._model_max_length

    @property
    def pad_token_id(self) -> int:
        """Id of [PAD]."""
        return self._pad_id

    @property
    def unk_token_id(self) -> int:
        """Id of [UNK]."""
        return self._unk_id

    @property
    def cls_token_id(self) -> int:
        """Id of [CLS]."""
        return self._cls_id

    @property
    def sep_token_id(self) -> int:
        """Id of [SEP]."""
        return self._sep_id

    @property
    def mask_token_id(self) -> int:
        """Id of [MASK]."""
        return self._mask_id

    def _word_to_ids(self, word: str) -> tuple[int, ...]:
        # WordPiece on one word: greedy longest match, or a single [UNK] for the whole word.
        if len(word) > MAX_WORD_CHARS:
            return (self._unk_id,)
        token_to_id = self._token_to_id
        whole_word_id = token_to_id.get(word)
        if whole_word_id is not None:
            return (whole_word_id,)

        ids = []
        start = 0
        pieces, max_chars = token_to_id, self._max_piece_chars
        while start < len(word):
            # Try the longest candidate first.
            for end in range(min(len(word), start + max_chars), start, -1):
                piece_id = pieces.get(word[start:end])
                if piece_id is not None:
                    break
            else:
                return (self._unk_id,)
            ids.append(piece_id)
            start = end
            pieces, max_chars = self._continuation_to_id, self._max_continuation_chars
        return tuple(ids)

    def text_to_ids(self, text: str) -> list[int]:
        """Tokenize ``text`` into WordPiece ids without special tokens; the fast path behind ``encode``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")

        # Every special token contains "[", and normalisation never creates one.
        # re.split returns the special tokens of the raw text at odd positions.
        if "[" in text:
            parts = _SPECIAL_TOKEN_PATTERN.split(text)
            never_split = _SPECIAL_TOKEN_SET
        else:
            parts = [text]
            never_split = frozenset()
        ids: list[int] = []
        cache = self._word_cache
        for index, part in enumerate(parts):
            if index % 2:
                ids.append(self._token_to_id[part])
                continue
            for word in basic_tokenize(part, lowercase=self._lowercase, never_split=never_split):
                pieces = cache.get(word)
                if pieces is None:
                    pieces = self._word_to_ids(word)
                    if len(cache) < _MAX_CACHED_WORDS:
                        cache[word] = pieces
                ids += pieces
        return ids

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into WordPiece tokens, without special tokens."""
        return [self._tokens[index] for index in self.text_to_ids(text)]

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Look up each token. A token not in the vocabulary gets the [UNK] id."""
        if isinstance(tokens, str):
            raise TypeError(f"tokens must be a list of str, got the str {tokens!r}; wrap it in a list")
        return [self._token_to_id.get(token, self._unk_id) for token in tokens]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        """Look up each id. Raises ValueError on an id outside the vocabulary."""
        tokens = []
        for value in ids:
            index = operator.index(value)
            if not 0 <= index < len(self._tokens):
                raise ValueError(f"token id {index} is out of range for a vocabulary of {len(self._tokens)} tokens")
            tokens.append(self._tokens[index])
        return tokens

    def encode(
        self, text: str, pair: str | None = None, *, max_length: int | None = None, truncation: bool = True
    ) -> Encoding:
        """Encode ``text`` as ``[CLS] text [SEP]``, or with ``pair`` as ``[CLS] text [SEP] pair [SEP]``.

        Token type ids are 0 up to and including the first [SEP], then 1.
        ``max_length`` counts the special tokens and defaults to
        ``model_max_length``. With ``truncation`` the longer side loses tokens
        first (see ``truncate_longest_first``); without it the result may be
        longer than ``max_length``. Raises ValueError if ``max_length`` leaves
        no room for the special tokens.
        """
        num_special = 2 if pair is None else 3
        if max_length is None:
            max_length = self._model_max_length
        elif max_length < num_special:
            raise ValueError(
                f"max_length={max_length} is smaller than the {num_special} special tokens it must hold"
            )

        first = self.text_to_ids(text)
        second = None if pair is None else self.text_to_ids(pair)
        if truncation:
            first, second = truncate_longest_first(first, second, max_length - num_special)

        # [CLS] first [SEP] has token type 0, and second [SEP] has token type 1.
        ids = [self._cls_id, *first, self._sep_id]
        token_type_ids = [0] * len(ids)
        if second is not None:
            ids += [*second, self._sep_id]
            token_type_ids += [1] * (len(second) + 1)
        return Encoding(
            ids=ids,
            token_type_ids=token_type_ids,
            attention_mask=[1] * len(ids),
            tokens=[self._tokens[index] for index in ids],
        )

    def encode_batch(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        *,
        max_length: int | None = None,
        truncation: bool = True,
        return_tensors: Literal["pt", "np"] = "pt",
    ) -> BatchEncoding:
        """Encode each text (with its pair) and pad to the longest in the batch.

        Padding positions hold the [PAD] id, token type 0 and attention mask 0.
        Returns int64 torch tensors (``"pt"``) or numpy arrays (``"np"``) of
        shape (B, T).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of str, not a single str; use encode for one text")
        if return_tensors not in ("pt", "np"):
            raise ValueError(f"return_tensors={return_tensors!r} is not supported; use 'pt' or 'np'")
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs; pass one pair per text")

        encodings = [
            self.encode(text, None if pairs is None else pairs[row], max_length=max_length, truncation=truncation)
            for row, text in enumerate(texts)
        ]

        # Fill (B, T) arrays row by row. numpy and torch are imported here only.
        import numpy as np

        shape = (len(encodings), max((len(encoding.ids) for encoding in encodings), default=0))
        input_ids = np.full(shape, self._pad_id, dtype=np.int64)
        token_type_ids = np.zeros(shape, dtype=np.int64)
        attention_mask = np.zeros(shape, dtype=np.int64)
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            input_ids[row, :length] = encoding.ids
            token_type_ids[row, :length] = encoding.token_type_ids
            attention_mask[row, :length] = 1

        if return_tensors == "np":
            return BatchEncoding(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
        import torch

        return BatchEncoding(
            input_ids=torch.from_numpy(input_ids),
            token_type_ids=torch.from_numpy(token_type_ids),
            attention_mask=torch.from_numpy(attention_mask),
        )

    def decode(
        self, ids: Iterable[int], *, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool = True
    ) -> str:
        """Join the tokens of ``ids`` with spaces, gluing each ``##`` piece to the token before it.

        With ``clean_up_tokenization_spaces``, as in transformers' default, the
        space before punctuation and English clitics is removed as well
        (``it ' s`` becomes ``it's``, ``end .`` becomes ``end.``).
        """
        tokens = self.convert_ids_to_tokens(ids)
        if skip_special_tokens:
            tokens = [token for token in tokens if token not in _SPECIAL_TOKEN_SET]
        text = " ".join(tokens).replace(" ##", "")
        if clean_up_tokenization_spaces:
            for spaced, joined in _CLEAN_UP_REPLACEMENTS:
                text = text.replace(spaced, joined)
        return text

    def save_vocab(self, path: str | Path) -> None:
        """Write the vocabulary to ``path`` as vocab.txt, one token per line in id order.

        The file is written under a temporary name next to ``path`` and then
        renamed over it, so readers never see a partial file.
        """
        write_text_atomic(path, "".join(f"{token}\n" for token in self._tokens))
