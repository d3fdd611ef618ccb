"""Byte-pair-encoding training: learn merges from word counts with incremental pair counts.

Each distinct pre-tokenized chunk ("word") is a sequence of token ids with a
count. Each training step finds the adjacent pair ``(a, b)`` with the
maximum count, summed over all words and weighted by word count. The pair
gets the next free id ``n``, and every ``a b`` in every word is rewritten as
``n``, left to right. Pairs are counted with overlap, so ``a a a`` counts
the pair ``(a, a)`` twice although a merge can only take one of them.

Rather than recount all pairs after each merge, the trainer keeps a map from
pair to count and an index from pair to the set of words that contain it. A
merge only visits the words in the index entry of the merged pair: it
subtracts their old pairs, rewrites them and adds their new pairs. The pair
with the maximum count comes from a heap with lazy deletion, where an entry
whose count no longer matches the map is stale and is skipped.

Ties: among pairs with the same maximum count the smallest pair wins,
comparing ``(left id, right id)`` as tuples. This makes training
deterministic and reproduces the textbook example, where ``aaabdaaabac``
merges ``aa``, then ``ab`` over ``(aa)a``, then ``(aa)(ab)``.

Reference: Sennrich et al., "Neural Machine Translation of Rare Words with
Subword Units" (2016), and the byte-level variant of GPT-2 (Radford et al.,
2019), where the initial alphabet is the 256 byte values.

Limitations:
    - The whole word-count table is kept in memory, so memory grows with the
      number of distinct chunks in the training text.
    - Counts use Python integers and dicts. A merge recounts every pair of
      each word it touches, so long words are slow: with pattern ``"none"``
      each whole line is one word. As a rough figure, 256 merges on 2,000
      SST sentences took about 1 s with the GPT-2 pattern and about 130 s
      with ``"none"`` (one busy CPU core, CPython 3, pure-Python trainer).
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence

from tqdm import tqdm

logger = logging.getLogger(__name__)

Pair = tuple[int, int]


def count_pairs(ids: Sequence[int]) -> dict[Pair, int]:
    """Count the adjacent pairs of ``ids``, overlapping ones included."""
    counts: dict[Pair, int] = defaultdict(int)
    for pair in zip(ids, ids[1:]):
        counts[pair] += 1
    return dict(counts)


def merge_pair(ids: Sequence[int], *, pair: Pair, new_id: int) -> list[int]:
    """Return ``ids`` with every occurrence of ``pair``, scanned left to right, replaced by ``new_id``."""
    merged = []
    index = 0
    while index < len(ids):
        if index + 1 < len(ids) and ids[index] == pair[0] and ids[index + 1] == pair[1]:
            merged.append(new_id)
            index += 2
        else:
            merged.append(ids[index])
            index += 1
    return merged


def train_merges(
    word_counts: Mapping[tuple[int, ...], int],
    *,
    num_merges: int,
    first_id: int = 256,
    show_progress: bool = False,
) -> list[Pair]:
    """Learn up to ``num_merges`` merges from ``word_counts``; merge ``i`` creates id ``first_id + i``.

    Returns fewer merges, with a warning, when no adjacent pair is left.
    """
    words = [list(word) for word in word_counts]
    frequencies = list(word_counts.values())

    # Count every pair once over all words and index which words contain it.
    pair_counts: dict[Pair, int] = defaultdict(int)
    words_with_pair: dict[Pair, set[int]] = defaultdict(set)
    for word_index, word in enumerate(words):
        for pair, count in count_pairs(word).items():
            pair_counts[pair] += count * frequencies[word_index]
            words_with_pair[pair].add(word_index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    progress = tqdm(total=num_merges, desc="BPE merges", unit="merge", disable=not show_progress)
    while len(merges) < num_merges:
        best = _pop_max_pair(heap, pair_counts)
        if best is None:
            logger.warning("training stopped after %d of %d merges: no adjacent pair is left", len(merges), num_merges)
            break
        new_id = first_id + len(merges)
        merges.append(best)
        logger.debug("merge %d: %s -> %d (count %d)", len(merges), best, new_id, pair_counts[best])

        # Rewrite only the words that contain the pair, moving their pair counts from old to new.
        changed: set[Pair] = set()
        for word_index in words_with_pair.pop(best):
            old_pairs = count_pairs(words[word_index])
            words[word_index] = merge_pair(words[word_index], pair=best, new_id=new_id)
            new_pairs = count_pairs(words[word_index])
            frequency = frequencies[word_index]
            for pair in old_pairs.keys() | new_pairs.keys():
                delta = (new_pairs.get(pair, 0) - old_pairs.get(pair, 0)) * frequency
                if delta:
                    pair_counts[pair] += delta
                    changed.add(pair)
                if pair not in new_pairs and pair != best:
                    words_with_pair[pair].discard(word_index)
                elif pair in new_pairs:
                    words_with_pair[pair].add(word_index)
        del pair_counts[best]
        changed.discard(best)

        # Push fresh entries for changed pairs; their older heap entries become stale.
        for pair in changed:
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair))
        progress.update(1)
    progress.close()
    return merges


def _pop_max_pair(heap: list[tuple[int, Pair]], pair_counts: Mapping[Pair, int]) -> Pair | None:
    """Pop heap entries until one matches its current count; return that pair, or None when empty."""
    while heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) == -negative_count and negative_count < 0:
            return pair
    return None
