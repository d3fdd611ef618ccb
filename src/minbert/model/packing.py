"""Packing: keep only the real tokens of a padded batch for the dense layers.

A padded batch of shape (B, T) may be half padding. The embeddings, the
feed-forward blocks and the attention projections are position-wise, so they
run on the N real tokens packed into one (N, C) matrix; only the attention
scores need the (B, T) layout, and ``unpack``/``pack`` move between the two.

Example with T = 3 and rows of length 2 and 1::

    attention_mask = [[1, 1, 0],      token_index = [0, 1, 3]   (flat index into B*T)
                      [1, 0, 0]]      batch_index = [0, 0, 1]   (row of each token)
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Packing:
    """Where the real tokens of a (B, T) batch sit, and how many there are per row."""

    batch_size: int
    seq_len: int
    token_index: torch.Tensor   # (N,) flat positions in B*T of the real tokens, row-major
    batch_index: torch.Tensor   # (N,) row of each real token
    lengths: torch.Tensor       # (B,) real tokens per row
    key_mask: torch.Tensor      # (B, 1, 1, T) additive mask: 0 for real keys, a large negative for padding

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor, *, dtype: torch.dtype) -> "Packing":
        B, T = attention_mask.shape
        flat_mask = attention_mask.reshape(-1).bool()
        token_index = flat_mask.nonzero().squeeze(1)
        # A finite minimum keeps rows that are all padding free of NaN, as in transformers.
        key_mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        return cls(
            batch_size=B,
            seq_len=T,
            token_index=token_index,
            batch_index=torch.div(token_index, T, rounding_mode="floor"),
            lengths=attention_mask.bool().sum(dim=1),
            key_mask=key_mask,
        )

    @property
    def num_tokens(self) -> int:
        return self.token_index.numel()

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) -> (N, ...): keep the real tokens."""
        return padded.reshape(self.batch_size * self.seq_len, *padded.shape[2:]).index_select(0, self.token_index)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), with zeros at padded positions."""
        flat = packed.new_zeros(self.batch_size * self.seq_len, *packed.shape[1:])
        flat = flat.index_copy(0, self.token_index, packed)
        return flat.reshape(self.batch_size, self.seq_len, *packed.shape[1:])
