"""The four BLEU tokenizers of sacrebleu: 13a, intl, char and none.

Each tokenizer maps one line of text to its list of tokens. BLEU counts
n-grams over these tokens, so a tokenizer that splits differently changes the
score, and ``minbert.metrics.bleu`` records the tokenizer's name in its
signature.

- ``13a``: the tokenizer of the WMT scoring script ``mteval-v13a.pl``. It
  unescapes ``&quot; &amp; &lt; &gt;``, splits off the ASCII symbols
  ``{|}~[\\]^_`!"#$%&()*+:;<=>?@/``, splits off ``.`` and ``,`` unless they
  sit between two digits, and splits off ``-`` after a digit. Apostrophes and
  other hyphens stay inside words.
- ``intl``: the international tokenizer of ``mteval-v14.pl``. It splits off
  every Unicode punctuation character (category P) that is not between two
  numbers (category N) and every symbol (category S).
- ``char``: every character that is not whitespace is a token.
- ``none``: split on whitespace only.

Reference: sacrebleu 2.x, ``sacrebleu/tokenizers/tokenizer_13a.py``,
``tokenizer_intl.py``, ``tokenizer_char.py`` and ``tokenizer_none.py``. The
tokens are the same as sacrebleu's output split on whitespace.

Speed: sacrebleu runs four regular-expression passes for 13a on every line.
Here the symbol pass leaves the space out of its character class, so it
rewrites only the symbols, and the passes for ``.``, ``,`` and ``-`` run only
on lines that contain those characters.

Limitations:
    - Unicode categories for ``intl`` come from the installed ``regex``
      package, as in sacrebleu, so they can change with its version.
    - The language-specific tokenizers of sacrebleu (zh, ja-mecab, ko-mecab,
      spm, flores) are not implemented.
"""

import re
from collections.abc import Callable

import regex

# The symbols that 13a surrounds with spaces: the ASCII characters matched by
# mteval-v13a's class [\{-\~\[-\` -\&\(-\+\:-\@\/], except the space itself.
_SYMBOL_13A = re.compile(r"[{-~\[-`!-&(-+:-@/]")

# mteval-v13a applies these rules in this order, each as one global substitution.
_PERIOD_COMMA_AFTER_NON_DIGIT = re.compile(r"([^0-9])([.,])")
_PERIOD_COMMA_BEFORE_NON_DIGIT = re.compile(r"([.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")

_PUNCTUATION_AFTER_NON_NUMBER = regex.compile(r"(\P{N})(\p{P})")
_PUNCTUATION_BEFORE_NON_NUMBER = regex.compile(r"(\p{P})(\P{N})")
_SYMBOL = regex.compile(r"(\p{S})")


def _space_around(match: re.Match) -> str:
    # A function replacement runs faster here than the template " \g<0> " (CPython 3.11).
    return f" {match.group()} "


def tokenize_13a(line: str) -> list[str]:
    """Split ``line`` like ``mteval-v13a.pl``."""
    # Skipped-segment markers, hyphenation across lines and line breaks.
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        # The order matters: "&amp;quot;" becomes "&quot;", not a quote.
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")

    # The padding spaces let the period and comma rules match at both ends.
    line = _SYMBOL_13A.sub(_space_around, f" {line} ")
    if "." in line or "," in line:
        line = _PERIOD_COMMA_AFTER_NON_DIGIT.sub(r"\1 \2 ", line)
        line = _PERIOD_COMMA_BEFORE_NON_DIGIT.sub(r" \1 \2", line)
    if "-" in line:
        line = _DASH_AFTER_DIGIT.sub(r"\1 \2 ", line)
    return line.split()


def tokenize_intl(line: str) -> list[str]:
    """Split ``line`` like the international tokenizer of ``mteval-v14.pl``."""
    line = _PUNCTUATION_AFTER_NON_NUMBER.sub(r"\1 \2 ", line)
    line = _PUNCTUATION_BEFORE_NON_NUMBER.sub(r" \1 \2", line)
    line = _SYMBOL.sub(r" \1 ", line)
    return line.split()


def tokenize_char(line: str) -> list[str]:
    """Return every non-whitespace character of ``line`` as a token."""
    return list("".join(line.split()))


def tokenize_none(line: str) -> list[str]:
    """Split ``line`` on whitespace only."""
    return line.split()


BLEU_TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "13a": tokenize_13a,
    "intl": tokenize_intl,
    "char": tokenize_char,
    "none": tokenize_none,
}
