"""Packing: keep only the real tokens of a padded batch, grouped for attention.

A padded batch of shape (B, T) may be half padding. The embeddings, the
feed-forward blocks and the attention projections are position-wise, so they
run on the N real tokens packed into one (N, C) matrix. Only the attention
scores need a padded layout, and there the cost grows with rows x T^2: so the
rows are sorted by length and cut into groups of similar length, each padded
to its own longest row.

Attention does not depend on where a key sits in the row, because positions
are already in the embeddings. So each row's real tokens are laid out left to
right in its group whatever the mask looks like. Left padding or holes in the
mask give the same result as transformers, which masks the same keys.

Example with T = 3, rows of length 1 and 2 (the longer row comes first)::

    attention_mask = [[1, 0, 0],      token_index = [3, 4, 0]   flat index into B*T
                      [1, 1, 0]]      batch_index = [1, 1, 0]   original row of each token
                                      positions   = [0, 1, 0]   column of each token
"""

from dataclasses import dataclass

import torch

# A row starts a new attention group when it is shorter than this fraction of
# the group's longest row: fewer padded scores against one more kernel call.
GROUP_LENGTH_RATIO = 0.75


@dataclass(frozen=True)
class AttentionGroup:
    """Consecutive packed tokens of ``rows`` rows, attended to in a (rows, seq_len) layout."""

    start: int                          # packed token range [start, end)
    end: int
    rows: int
    seq_len: int
    local_index: torch.Tensor | None    # (end - start,) flat index into rows*seq_len; None without padding
    key_mask: torch.Tensor | None       # (rows, 1, 1, seq_len) additive mask; None without padding


@dataclass(frozen=True)
class Packing:
    """Layout of the real tokens of a (B, T) batch: their source positions and their attention groups."""

    batch_size: int
    seq_len: int
    token_index: torch.Tensor   # (N,) flat positions in B*T of the real tokens, in packed order
    batch_index: torch.Tensor   # (N,) original row of each real token
    positions: torch.Tensor     # (N,) column of each real token: its position id
    lengths: torch.Tensor       # (B,) real tokens per row
    groups: tuple[AttentionGroup, ...]

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor, *, dtype: torch.dtype) -> "Packing":
        B, T = attention_mask.shape
        mask = attention_mask.bool()
        lengths = mask.sum(dim=1)                                            # (B,)

        # Sort rows longest first; pack their real tokens row by row.
        order = torch.argsort(lengths, descending=True, stable=True)         # (B,)
        sorted_flat = mask[order].reshape(-1).nonzero().squeeze(1)           # (N,)
        sorted_row = torch.div(sorted_flat, T, rounding_mode="floor")
        positions = sorted_flat - sorted_row * T
        batch_index = order[sorted_row]

        sorted_lengths = lengths[order].tolist()
        groups = _attention_groups(sorted_lengths, sorted_row, dtype=dtype)
        return cls(batch_size=B, seq_len=T, token_index=batch_index * T + positions, batch_index=batch_index,
                   positions=positions, lengths=lengths, groups=groups)

    @property
    def num_tokens(self) -> int:
        return self.token_index.numel()

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), with zeros at padded positions."""
        flat = packed.new_zeros(self.batch_size * self.seq_len, *packed.shape[1:])
        flat = flat.index_copy(0, self.token_index, packed)
        return flat.reshape(self.batch_size, self.seq_len, *packed.shape[1:])


def _attention_groups(sorted_lengths: list[int], sorted_row: torch.Tensor, *,
                      dtype: torch.dtype) -> tuple[AttentionGroup, ...]:
    """Cut rows sorted by decreasing length into groups of similar length."""
    ends = [0]                      # packed offset where each sorted row starts
    for length in sorted_lengths:
        ends.append(ends[-1] + length)

    groups = []
    first = 0
    for row in range(1, len(sorted_lengths) + 1):
        if row < len(sorted_lengths) and sorted_lengths[row] >= GROUP_LENGTH_RATIO * sorted_lengths[first]:
            continue
        seq_len = sorted_lengths[first]
        if seq_len > 0:
            groups.append(_make_group(sorted_lengths[first:row], first, ends, sorted_row, dtype=dtype))
        first = row
    return tuple(groups)


def _make_group(lengths: list[int], first_row: int, ends: list[int], sorted_row: torch.Tensor, *,
                dtype: torch.dtype) -> AttentionGroup:
    rows, seq_len = len(lengths), lengths[0]
    start, end = ends[first_row], ends[first_row + rows]
    if all(length == seq_len for length in lengths):
        return AttentionGroup(start=start, end=end, rows=rows, seq_len=seq_len, local_index=None, key_mask=None)

    # Token k of sorted row r goes to (r - first_row) * seq_len + (k - start of row r).
    group_rows = sorted_row[start:end]
    row_starts = torch.tensor(ends[first_row:first_row + rows])
    local_rows = group_rows - first_row
    rank = torch.arange(start, end) - row_starts[local_rows]
    local_index = local_rows * seq_len + rank

    # A finite minimum keeps the padded query rows free of NaN.
    is_padding = torch.arange(seq_len)[None, :] >= torch.tensor(lengths)[:, None]       # (rows, seq_len)
    key_mask = (is_padding.to(dtype) * torch.finfo(dtype).min)[:, None, None, :]        # (rows, 1, 1, seq_len)
    return AttentionGroup(start=start, end=end, rows=rows, seq_len=seq_len, local_index=local_index,
                          key_mask=key_mask)
