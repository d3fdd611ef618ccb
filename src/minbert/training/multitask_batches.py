"""Tokenised multitask examples: one text or a cross-encoded pair, with token types and a target.

A single text becomes ``[CLS] a [SEP]`` (token types 0); a pair becomes
``[CLS] a [SEP] b [SEP]``, token types 0 up to the first [SEP] and 1 after it.
A pair longer than ``max_length`` loses tokens from its longer side first.
Batches are padded to their longest row, with token type 0 and mask 0 on padding.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minbert.data.batching import pad_rows
from minbert.data.multitask_data import TaskExample
from minbert.tokenizers.wordpiece import WordPieceTokenizer


@dataclass(frozen=True)
class EncodedTask:
    """Token ids, token type ids and targets of one task's examples, in input order."""

    ids: list[list[int]]
    token_type_ids: list[list[int]]
    targets: list[float]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> list[int]:
        return [len(row) for row in self.ids]


@dataclass(frozen=True)
class PairBatch:
    input_ids: torch.Tensor        # (B, T)
    token_type_ids: torch.Tensor   # (B, T)
    attention_mask: torch.Tensor   # (B, T)
    targets: torch.Tensor          # (B,) float: class indices or scores


def encode_examples(tokenizer: WordPieceTokenizer, examples: Sequence[TaskExample], *,
                    max_length: int) -> EncodedTask:
    """Tokenise every example, a pair as one ``[CLS] a [SEP] b [SEP]`` sequence."""
    encodings = [tokenizer.encode(example.first, example.second, max_length=max_length) for example in examples]
    return EncodedTask(ids=[encoding.ids for encoding in encodings],
                       token_type_ids=[encoding.token_type_ids for encoding in encodings],
                       targets=[example.target for example in examples])


def subsample(examples: Sequence[TaskExample], limit: int | None, *, seed: int) -> list[TaskExample]:
    """Return ``limit`` examples drawn without replacement (seeded), in file order; all when ``limit`` is None."""
    if limit is None or limit >= len(examples):
        return list(examples)
    chosen = np.sort(np.random.default_rng(seed).choice(len(examples), size=limit, replace=False))
    return [examples[index] for index in chosen]


def collate_examples(encoded: EncodedTask, indices: Sequence[int], *, pad_id: int) -> PairBatch:
    """Pad the rows at ``indices`` to their longest; the mask marks the real tokens."""
    input_ids, attention_mask = pad_rows([encoded.ids[index] for index in indices], pad_id=pad_id)
    token_type_ids, _ = pad_rows([encoded.token_type_ids[index] for index in indices], pad_id=0)
    targets = torch.tensor([encoded.targets[index] for index in indices], dtype=torch.float32)
    return PairBatch(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                     targets=targets)
