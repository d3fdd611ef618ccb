"""WordPiece training: learn a BERT vocabulary from word counts with incremental pair counts.

Text is normalised and split into words by ``basic_tokenize``, and each
distinct word is counted. A word starts as its characters, the first one
plain and the rest with the ``##`` prefix (``hug`` is ``h ##u ##g``). The
initial vocabulary is BERT's five special tokens followed by every such
symbol, sorted. Each training step merges the adjacent pair ``(a, b)`` with
the highest score. Two scores exist. The default, ``score="count"``, is
``count(a b)``, the number of times ``b`` directly follows ``a`` summed over
all words and weighted by word count; it is the ranking of the
``tokenizers`` 0.23.3 WordPiece trainer. ``score="likelihood"`` is the
textbook WordPiece score

    score(a, b) = count(a b) / (count(a) * count(b)),

where ``count(x)`` is the number of times symbol ``x`` occurs. Dividing by
the part counts favours pairs whose parts are rare and mostly occur together
over pairs of frequent parts. The merged symbol is ``a`` followed by ``b``
without its ``##`` (``##u`` + ``##g`` is ``##ug``) and is appended to the
vocabulary.

As in ``bpe_training``, pair counts, symbol counts and an index from pair to
the words containing it are updated only for the words a merge rewrites.
A merge also lowers the counts of its two parts, so the score of every pair
that contains one of them changes. Those pairs get fresh heap entries, and
an entry whose score no longer matches is skipped when popped. Among
equal scores the pair with the smaller ``(left id, right id)`` wins.

Reference: WordPiece as introduced by Schuster and Nakajima, "Japanese and
Korean Voice Search" (2012). The tests check that the written vocab.txt gives
identical ids in minbert's ``WordPieceTokenizer`` and in transformers'
``BertTokenizerFast``.

Limitations:
    - Words longer than 100 characters are left out, because BERT's
      tokenizer turns them into ``[UNK]`` anyway.
    - Training segments each word by the merges it learned, but BERT's
      tokenizer splits greedily by longest match, so a word can be split
      differently when the vocabulary is used.
    - Every distinct character of the training text goes into the
      vocabulary, so ``vocab_size`` must have room for all of them.
    - The count score is the default because the textbook score favours
      merges inside rare words, so frequent words stay split for long. In
      one run on 2 CPU cores, 4,096-token vocabularies trained on 90% of
      the lines of the shared data split the other 10% into 3.36 tokens
      per word with the textbook score, 1.26 with the count score and 1.27
      with the ``tokenizers`` trainer (docs/benchmarks.md).
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Literal

from tqdm import tqdm

from minbert.errors import ConfigError, ParameterError
from minbert.tokenizers.basic import basic_tokenize
from minbert.tokenizers.bpe_training import Pair, count_pairs, merge_pair
from minbert.tokenizers.wordpiece import MAX_WORD_CHARS, SPECIAL_TOKENS

logger = logging.getLogger(__name__)

CONTINUATION_PREFIX = "##"
ScoreName = Literal["likelihood", "count"]
SCORE_NAMES: tuple[ScoreName, ...] = ("likelihood", "count")


def count_words(texts: Iterable[str], *, lowercase: bool = True) -> Counter[str]:
    """Count the words of ``texts`` after BERT normalisation, leaving out words over 100 characters."""
    word_counts: Counter[str] = Counter()
    for text in texts:
        word_counts.update(basic_tokenize(text, lowercase=lowercase))
    for word in [word for word in word_counts if len(word) > MAX_WORD_CHARS]:
        del word_counts[word]
    return word_counts


def initial_symbols(word: str) -> list[str]:
    """Split ``word`` into its first character and ``##``-prefixed continuation characters."""
    return [word[0], *(CONTINUATION_PREFIX + char for char in word[1:])]


def merged_symbol(left: str, right: str) -> str:
    """Join two symbols, dropping the ``##`` of ``right``: ``##u`` and ``##g`` give ``##ug``."""
    return left + right.removeprefix(CONTINUATION_PREFIX)


def train_wordpiece(
    texts: Iterable[str],
    *,
    vocab_size: int,
    lowercase: bool = True,
    score: ScoreName = "count",
    show_progress: bool = False,
) -> list[str]:
    """Learn a WordPiece vocabulary of at most ``vocab_size`` tokens from ``texts``.

    Returns the tokens in id order: the five special tokens, the sorted
    initial characters, then the merged symbols in the order they were
    learned. ``score`` ranks pairs by ``count(a b)`` (``"count"``) or by
    ``count(a b) / (count(a) * count(b))`` (``"likelihood"``). Returns fewer
    tokens, with a warning, when no pair is left to merge. Raises
    ConfigError if ``texts`` has no words, if ``score`` is unknown, or if
    ``vocab_size`` cannot hold the special tokens and every character.
    """
    if score not in SCORE_NAMES:
        raise ParameterError("score", score, f"is not a known score (expected one of {', '.join(SCORE_NAMES)})")
    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise ParameterError(
            "vocab_size", vocab_size,
            f"is too small (expected at least {len(SPECIAL_TOKENS) + 1} for the {len(SPECIAL_TOKENS)} special tokens "
            "and one character)"
        )
    word_counts = count_words(texts, lowercase=lowercase)
    if not word_counts:
        raise ConfigError("the training text is empty: it has no words after normalisation")

    alphabet = sorted({symbol for word in word_counts for symbol in initial_symbols(word)})
    minimum = len(SPECIAL_TOKENS) + len(alphabet)
    if vocab_size < minimum:
        raise ParameterError(
            "vocab_size", vocab_size,
            f"is too small (expected at least {minimum} for the {len(SPECIAL_TOKENS)} special tokens and the "
            f"{len(alphabet)} distinct characters of the training text)"
        )
    logger.info("training WordPiece on %d distinct words, %d characters, up to %d merges",
                len(word_counts), len(alphabet), vocab_size - minimum)

    vocab = [*SPECIAL_TOKENS, *alphabet]
    symbols = list(alphabet)
    symbol_ids = {symbol: index for index, symbol in enumerate(symbols)}
    words = [[symbol_ids[symbol] for symbol in initial_symbols(word)] for word in word_counts]
    frequencies = list(word_counts.values())
    for pair in _learn_merges(words, frequencies, symbols=symbols, num_tokens=vocab_size - len(vocab),
                              score_name=score, show_progress=show_progress):
        vocab.append(symbols[pair])
    return vocab


def _learn_merges(
    words: list[list[int]],
    frequencies: list[int],
    *,
    symbols: list[str],
    num_tokens: int,
    score_name: ScoreName,
    show_progress: bool,
) -> list[int]:
    """Merge pairs until ``num_tokens`` new symbols exist, and return their ids in ``symbols``.

    Rewrites ``words`` and extends ``symbols`` in place; both are private to
    ``train_wordpiece``.
    """
    pair_counts: dict[Pair, int] = defaultdict(int)
    symbol_counts: dict[int, int] = defaultdict(int)
    words_with_pair: dict[Pair, set[int]] = defaultdict(set)
    pairs_with_symbol: dict[int, set[Pair]] = defaultdict(set)
    for word_index, word in enumerate(words):
        for symbol in word:
            symbol_counts[symbol] += frequencies[word_index]
        for pair, count in count_pairs(word).items():
            pair_counts[pair] += count * frequencies[word_index]
            words_with_pair[pair].add(word_index)
            pairs_with_symbol[pair[0]].add(pair)
            pairs_with_symbol[pair[1]].add(pair)

    def score(pair: Pair) -> float:
        if score_name == "count":
            return pair_counts[pair]
        return pair_counts[pair] / (symbol_counts[pair[0]] * symbol_counts[pair[1]])

    heap = [(-score(pair), pair) for pair in pair_counts]
    heapq.heapify(heap)
    symbol_ids = {symbol: index for index, symbol in enumerate(symbols)}
    new_ids: list[int] = []
    progress = tqdm(total=num_tokens, desc="WordPiece merges", unit="merge", disable=not show_progress)
    while len(new_ids) < num_tokens:
        best = _pop_best_pair(heap, pair_counts, score)
        if best is None:
            logger.warning("training stopped after %d of %d new tokens: no pair is left to merge",
                           len(new_ids), num_tokens)
            break

        # Two different merges can spell the same symbol (##a + ##bc and ##ab + ##c), which keeps its first id.
        spelling = merged_symbol(symbols[best[0]], symbols[best[1]])
        new_id = symbol_ids.get(spelling)
        if new_id is None:
            new_id = symbol_ids[spelling] = len(symbols)
            symbols.append(spelling)
            new_ids.append(new_id)
            progress.update(1)
        logger.debug("merge %s -> %r (score %.3g)", best, spelling, score(best))

        # Rewrite only the words that contain the pair, moving pair and symbol counts from old to new.
        changed: set[Pair] = set()
        for word_index in words_with_pair.pop(best):
            old_word = words[word_index]
            new_word = merge_pair(old_word, pair=best, new_id=new_id)
            words[word_index] = new_word
            frequency = frequencies[word_index]
            for symbol in old_word:
                symbol_counts[symbol] -= frequency
            for symbol in new_word:
                symbol_counts[symbol] += frequency
            changed |= _move_pair_counts(count_pairs(old_word), count_pairs(new_word), word_index=word_index,
                                         frequency=frequency, pair_counts=pair_counts,
                                         words_with_pair=words_with_pair, pairs_with_symbol=pairs_with_symbol)
        # Every occurrence of the pair was merged, so moving the counts removed it.
        assert best not in pair_counts

        # The parts of the merge occur less often now, which raises the likelihood score of their other pairs.
        if score_name == "likelihood":
            changed |= pairs_with_symbol[best[0]] | pairs_with_symbol[best[1]]
        changed.discard(best)
        for pair in changed:
            if pair_counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-score(pair), pair))
    progress.close()
    return new_ids


def _move_pair_counts(
    old_pairs: dict[Pair, int],
    new_pairs: dict[Pair, int],
    *,
    word_index: int,
    frequency: int,
    pair_counts: dict[Pair, int],
    words_with_pair: dict[Pair, set[int]],
    pairs_with_symbol: dict[int, set[Pair]],
) -> set[Pair]:
    """Replace one word's old pairs by its new ones in the counts and indexes; return the pairs that changed."""
    changed = set()
    for pair in old_pairs.keys() | new_pairs.keys():
        delta = (new_pairs.get(pair, 0) - old_pairs.get(pair, 0)) * frequency
        if delta:
            pair_counts[pair] += delta
            changed.add(pair)
        if pair in new_pairs:
            words_with_pair[pair].add(word_index)
            pairs_with_symbol[pair[0]].add(pair)
            pairs_with_symbol[pair[1]].add(pair)
        elif pair in words_with_pair:
            words_with_pair[pair].discard(word_index)
        if pair_counts.get(pair, 0) <= 0:
            pair_counts.pop(pair, None)
            pairs_with_symbol[pair[0]].discard(pair)
            pairs_with_symbol[pair[1]].discard(pair)
    return changed


def _pop_best_pair(
    heap: list[tuple[float, Pair]], pair_counts: dict[Pair, int], score: Callable[[Pair], float]
) -> Pair | None:
    """Pop heap entries until one matches its pair's current score; return that pair, or None when empty."""
    while heap:
        negative_score, pair = heapq.heappop(heap)
        if pair in pair_counts and pair_counts[pair] > 0 and -negative_score == score(pair):
            return pair
    return None
