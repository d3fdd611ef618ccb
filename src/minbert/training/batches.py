"""Tokenised examples and the padded batches cut from them.

Texts are tokenised once, up front. Each batch is padded only to its own
longest row, and ``bucket_batches`` groups rows of similar length, so little
padding is left to compute.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from minbert.data.batching import pad_rows
from minbert.tokenizers.wordpiece import WordPieceTokenizer


@dataclass(frozen=True)
class EncodedTexts:
    """Token ids of each text ([CLS] ... [SEP], truncated) and its label, if any."""

    ids: list[list[int]]
    labels: list[int] | None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> list[int]:
        return [len(row) for row in self.ids]


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor        # (B, T)
    attention_mask: torch.Tensor   # (B, T)
    labels: torch.Tensor | None    # (B,)


def encode_texts(tokenizer: WordPieceTokenizer, texts: Sequence[str], labels: Sequence[int | None] | None,
                 *, max_length: int) -> EncodedTexts:
    ids = [tokenizer.encode(text, max_length=max_length).ids for text in texts]
    if labels is None or any(label is None for label in labels):
        return EncodedTexts(ids=ids, labels=None)
    return EncodedTexts(ids=ids, labels=list(labels))


def collate(encoded: EncodedTexts, indices: Sequence[int], *, pad_id: int) -> Batch:
    """Pad the rows at ``indices`` to their longest; the mask marks the real tokens."""
    input_ids, attention_mask = pad_rows([encoded.ids[index] for index in indices], pad_id=pad_id)
    labels = None
    if encoded.labels is not None:
        labels = torch.tensor([encoded.labels[index] for index in indices], dtype=torch.long)
    return Batch(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
