"""BERT's basic tokenizer: Unicode clean-up and splitting of text into words.

``basic_tokenize`` applies these steps in order:

1. Delete NUL, U+FFFD and every character whose Unicode category starts with
   "C" (control Cc, format Cf such as U+200B and the soft hyphen, unassigned
   Cn, private use Co, surrogates Cs), except tab, newline and carriage
   return. Those three and the Zs spaces become a plain space.
2. Put a space on each side of every CJK ideograph, so each one is a word.
3. Compose to NFC.
4. Split on whitespace with ``str.split``, which also splits on U+2028 and
   U+2029.
5. Uncased only: lowercase with ``str.lower`` (which writes a final sigma as
   ``ς``), decompose to NFD and drop the nonspacing marks (category Mn), which
   strips accents.
6. Split off every punctuation character as a word of its own: the Unicode P*
   categories plus each printable ASCII character that is not a letter, digit
   or space (so ``$``, ``+``, ``^`` and the backtick count too).

Reference: ``BasicTokenizer`` in transformers 5.x,
``models/bert/tokenization_bert_legacy.py``, with ``tokenize_chinese_chars=True``
and ``strip_accents=None``. google-research/bert ``tokenization.py`` differs in
two places: step 1 there deletes only Cc and Cf, and it has no step 3.

Speed: the reference loops over characters in Python. Here steps 1-2 and 5-6
are ``str.translate`` tables whose entries are computed on first use, and pure
ASCII text skips normalisation and is split by one regular expression.

Limitations:
    - Categories come from the ``unicodedata`` module of the running Python
      (Unicode 14.0 in Python 3.11), so code points assigned in later Unicode
      versions are deleted as unassigned and results can change with the
      Python version.
    - Uncased mode always strips accents, and CJK splitting cannot be turned
      off (BERT's ``strip_accents`` and ``tokenize_chinese_chars`` options).
"""

import re
import unicodedata
from collections.abc import Callable

# Code point ranges that BERT treats as CJK ideographs: the CJK Unified
# Ideographs block, extensions A to E, and both compatibility blocks.
CJK_IDEOGRAPH_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_whitespace(char: str) -> bool:
    """Return whether ``char`` is a word boundary: space, tab, newline, CR or category Zs."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Return whether ``char`` is deleted: any category C* except tab, newline and CR."""
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    """Return whether ``char`` is split off: category P* or printable ASCII other than letters, digits, space."""
    if char.isascii():
        return "!" <= char <= "~" and not char.isalnum()
    return unicodedata.category(char).startswith("P")


def is_cjk_ideograph(char: str) -> bool:
    """Return whether ``char`` lies in one of BERT's CJK ideograph ranges."""
    code_point = ord(char)
    return any(first <= code_point <= last for first, last in CJK_IDEOGRAPH_RANGES)


class _LazyTranslation(dict):
    """A ``str.translate`` table that computes and stores each entry on first lookup.

    ``rule`` maps one character to its replacement: a string, or None to delete it.
    """

    def __init__(self, rule: Callable[[str], str | None]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code_point: int) -> str | None:
        replacement = self._rule(chr(code_point))
        self[code_point] = replacement
        return replacement


def _clean_char(char: str) -> str | None:
    # Steps 1 and 2: delete, turn into a space, or space out a CJK ideograph.
    if char in "\x00\ufffd" or is_control(char):
        return None
    if is_whitespace(char):
        return " "
    if is_cjk_ideograph(char):
        return f" {char} "
    return char


def _split_char_cased(char: str) -> str:
    # Step 6: a punctuation character becomes a word of its own.
    return f" {char} " if is_punctuation(char) else char


def _split_char_uncased(char: str) -> str | None:
    # Step 5 (on NFD text) and step 6 in one table: marks go, punctuation is spaced out.
    if unicodedata.category(char) == "Mn":
        return None
    return _split_char_cased(char)


_CLEAN_TABLE = _LazyTranslation(_clean_char)
_SPLIT_TABLE_CASED = _LazyTranslation(_split_char_cased)
_SPLIT_TABLE_UNCASED = _LazyTranslation(_split_char_uncased)

# ASCII control characters: tab, newline and CR become spaces, the rest are deleted.
_ASCII_CLEAN_TABLE = {code: None for code in [*range(0x20), 0x7F]} | {ord(c): " " for c in "\t\n\r"}

# On cleaned ASCII text every character other than a letter, digit or space is punctuation.
_ASCII_WORD_PATTERN = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9 ]")


def _split_clean_text(text: str, *, lowercase: bool) -> list[str]:
    # Steps 5 and 6 on text that is already cleaned, spaced and NFC.
    if text.isascii():
        return _ASCII_WORD_PATTERN.findall(text.lower() if lowercase else text)

    # Lowercasing the whole text equals lowercasing word by word: the context
    # that str.lower checks for a final sigma never crosses whitespace.
    if lowercase:
        return unicodedata.normalize("NFD", text.lower()).translate(_SPLIT_TABLE_UNCASED).split()
    return text.translate(_SPLIT_TABLE_CASED).split()


def basic_tokenize(text: str, *, lowercase: bool = True, never_split: frozenset[str] = frozenset()) -> list[str]:
    """Split ``text`` into words and punctuation marks, normalised as BERT does.

    ``lowercase`` selects the uncased model's lowercasing and accent
    stripping. A whitespace-separated word (after steps 1-3) that is in
    ``never_split`` is returned unchanged, as the reference does for special
    tokens.

    >>> basic_tokenize("Héllo,  WORLD!")
    ['hello', ',', 'world', '!']
    """
    # Steps 1-3. ASCII text is already NFC and has no CJK ideographs.
    if text.isascii():
        if not text.isprintable():
            text = text.translate(_ASCII_CLEAN_TABLE)
    else:
        text = unicodedata.normalize("NFC", text.translate(_CLEAN_TABLE))

    # Steps 4-6 on the whole text at once, unless a protected word may occur.
    if not never_split or not any(word in text for word in never_split):
        return _split_clean_text(text, lowercase=lowercase)
    words = []
    for word in text.split():
        if word in never_split:
            words.append(word)
        else:
            words.extend(_split_clean_text(word, lowercase=lowercase))
    return words
