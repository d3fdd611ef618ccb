"""Packing: keep only the real tokens of a padded batch, grouped for attention.

A padded batch of shape (B, T) may be half padding. The embeddings and the
feed-forward blocks are position-wise, so they run on the N real tokens
packed into one (N, C) matrix. Attention needs a padded layout, and there the
cost grows with rows x T^2: so the rows are sorted by length and cut into
groups of similar length, each padded to its own longest row. The S >= N
positions of that layout are the attention slots; the attention layer copies
the packed tokens into the slots before its projections and back after.
When every group's rows have equal lengths, slots and packed tokens coincide
and nothing is copied.

Attention does not depend on where a key sits in the row, because positions
are already in the embeddings. So each row's real tokens are laid out left to
right in its group whatever the mask looks like. Left padding or holes in the
mask give the same result as transformers, which masks the same keys.

Example with T = 3, rows of length 1 and 2 (the longer row comes first)::

    attention_mask = [[1, 0, 0],      token_index = [3, 4, 0]   flat index into B*T
                      [1, 1, 0]]      batch_index = [1, 1, 0]   original row of each token
                                      positions   = [0, 1, 0]   column of each token

Here each row is its own group, so the slots are the tokens. Rows of length 4
and 3 share a group of 2 x 4 slots, 7 tokens and one padding slot::

    slot_source = [0, 1, 2, 3, 4, 5, 6, 4]    packed token copied into each slot
    token_slot  = [0, 1, 2, 3, 4, 5, 6]       slot of each packed token
"""

from dataclasses import dataclass

import torch

# A row starts a new attention group when it is shorter than this fraction of
# the group's longest row: fewer padded scores against one more kernel call.
GROUP_LENGTH_RATIO = 0.75


@dataclass(frozen=True)
class AttentionGroup:
    """``rows`` consecutive sorted rows, laid out as (rows, seq_len) attention slots."""

    start: int                          # slot range [start, end), end - start = rows * seq_len
    end: int
    rows: int
    seq_len: int
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
    # Attention slots, S = sum of rows * seq_len over the groups. Both are None when S = N.
    slot_source: torch.Tensor | None    # (S,) packed token copied into each slot
    token_slot: torch.Tensor | None     # (N,) slot of each packed token

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

        groups, slot_source, token_slot = _attention_groups(lengths[order].tolist(), dtype=dtype,
                                                            device=attention_mask.device)
        return cls(batch_size=B, seq_len=T, token_index=batch_index * T + positions, batch_index=batch_index,
                   positions=positions, lengths=lengths, groups=groups, slot_source=slot_source,
                   token_slot=token_slot)

    @property
    def num_tokens(self) -> int:
        return self.token_index.numel()

    def to_slots(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) packed tokens -> (S, ...) attention slots, each group's rows padded to its longest.

        A padding slot contains a copy of the first token of its row: a finite
        value that the key mask hides, and whose own output is dropped.
        """
        return packed if self.slot_source is None else packed.index_select(0, self.slot_source)

    def from_slots(self, slots: torch.Tensor) -> torch.Tensor:
        """(S, ...) attention slots -> (N, ...) packed tokens, dropping the padding slots."""
        return slots if self.token_slot is None else slots.index_select(0, self.token_slot)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), with zeros at padded positions."""
        flat = packed.new_zeros(self.batch_size * self.seq_len, *packed.shape[1:])
        flat = flat.index_copy(0, self.token_index, packed)
        return flat.reshape(self.batch_size, self.seq_len, *packed.shape[1:])


def _attention_groups(sorted_lengths: list[int], *, dtype: torch.dtype, device: torch.device
                      ) -> tuple[tuple[AttentionGroup, ...], torch.Tensor | None, torch.Tensor | None]:
    """Cut rows sorted by decreasing length into groups of similar length.

    Returns the groups, and the slot of each packed token and the packed token
    of each slot as ``Packing`` stores them.
    """
    groups = []
    group_lengths = []
    first = 0
    slots = 0
    for row in range(1, len(sorted_lengths) + 1):
        if row < len(sorted_lengths) and sorted_lengths[row] >= GROUP_LENGTH_RATIO * sorted_lengths[first]:
            continue
        lengths = sorted_lengths[first:row]
        rows, seq_len = len(lengths), lengths[0]
        if seq_len > 0:
            key_mask = None
            if lengths[-1] < seq_len:
                # A finite minimum keeps the padded query rows free of NaN.
                is_padding = (torch.arange(seq_len, device=device)[None, :]
                              >= torch.tensor(lengths, device=device)[:, None])             # (rows, seq_len)
                key_mask = (is_padding.to(dtype) * torch.finfo(dtype).min)[:, None, None, :]   # (rows, 1, 1, seq_len)
            groups.append(AttentionGroup(start=slots, end=slots + rows * seq_len, rows=rows, seq_len=seq_len,
                                         key_mask=key_mask))
            group_lengths.append(lengths)
            slots += rows * seq_len
        first = row
    if all(group.key_mask is None for group in groups):
        return tuple(groups), None, None

    # Slot t of a group row contains token t of that row, or the row's first token where t >= its length.
    slot_source = []
    token_slot = []
    token = 0
    for group, lengths in zip(groups, group_lengths):
        columns = torch.arange(group.seq_len, device=device)[None, :]                # (1, seq_len)
        row_length = torch.tensor(lengths, device=device)[:, None]                   # (rows, 1)
        row_start = token + torch.cumsum(row_length, dim=0) - row_length             # (rows, 1)
        slot_source.append((row_start + torch.where(columns < row_length, columns, 0)).reshape(-1))
        is_real = (columns < row_length).reshape(-1)
        token_slot.append(group.start + is_real.nonzero().squeeze(1))
        token += sum(lengths)
    return tuple(groups), torch.cat(slot_source), torch.cat(token_slot)
