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

On CPU without gradients, each row attends to a whole multiple of 16 keys
(``key_multiple``, ``INFERENCE_KEY_MULTIPLE``): the slots after its own, from
the next row or from extra slots at the end, are hidden by the key mask.
torch's CPU attention kernel runs up to twice as fast on such key lengths
(docs/benchmarks.md).

Example with T = 3, rows of length 1 and 2 (the longer row comes first)::

    attention_mask = [[1, 0, 0],      token_index = [3, 4, 0]   flat index into B*T
                      [1, 1, 0]]      batch_index = [1, 1, 0]   original row of each token
                                      positions   = [0, 1, 0]   column of each token

Here each row is its own group, so the slots are the tokens. Rows of length 4
and 3 share a group of 2 x 4 slots, 7 tokens and one padding slot::

    slot_source = [0, 1, 2, 3, 4, 5, 6, 4]    packed token copied into each slot
    token_slot  = [0, 1, 2, 3, 4, 5, 6]       slot of each packed token

With ``key_multiple=16`` the second row's 16 keys run 12 slots past the group,
so 12 extra slots follow, copies of token 0.
"""

from dataclasses import dataclass

import torch

# A row starts a new attention group when it is shorter than this fraction of
# the group's longest row: fewer padded scores against one more kernel call.
GROUP_LENGTH_RATIO = 0.75

# Keys per attention row are rounded up to a multiple of this on CPU without gradients.
# Measured on AVX-512 (16 floats per vector) for 32 rows of 12 heads of size 32:
# with 4 to 64 keys rounded up, torch's attention kernel took 1.0-2.4x less time.
# One key past a multiple (17, 33, 65 keys) took 4-7% more.
# With gradients the lengths stay exact: training attention is written out for
# dropout and gains nothing (a fine-tuning benchmark ran 6% slower, one run).
INFERENCE_KEY_MULTIPLE = 16


@dataclass(frozen=True)
class AttentionGroup:
    """``rows`` consecutive sorted rows, laid out as (rows, seq_len) attention slots.

    Row r attends to the ``key_len`` slots from its own first slot on,
    ``start + r * seq_len``: its own slots, then slots hidden by the mask.
    """

    start: int                          # slot range [start, end), end - start = rows * seq_len
    end: int
    rows: int
    seq_len: int
    key_len: int                        # seq_len rounded up to a multiple of the key multiple
    key_mask: torch.Tensor | None       # (rows, 1, 1, key_len) additive mask; None when every key is real


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
    # Attention slots: rows * seq_len per group, then the extra slots that the last rows' keys reach.
    slot_source: torch.Tensor | None    # (S,) packed token copied into each slot; None when S = N
    token_slot: torch.Tensor | None     # (N,) slot of each packed token; None when the rows have no padding

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor, *, dtype: torch.dtype, key_multiple: int = 1) -> "Packing":
        B, T = attention_mask.shape
        mask = attention_mask.bool()
        lengths = mask.sum(dim=1)                                            # (B,)

        # Sort rows longest first; pack their real tokens row by row.
        order = torch.argsort(lengths, descending=True, stable=True)         # (B,)
        sorted_flat = mask[order].reshape(-1).nonzero().squeeze(1)           # (N,)
        sorted_row = torch.div(sorted_flat, T, rounding_mode="floor")
        positions = sorted_flat - sorted_row * T
        batch_index = order[sorted_row]

        groups, slot_source, token_slot = _attention_groups(lengths[order].tolist(), key_multiple, dtype=dtype,
                                                            device=attention_mask.device)
        return cls(batch_size=B, seq_len=T, token_index=batch_index * T + positions, batch_index=batch_index,
                   positions=positions, lengths=lengths, groups=groups, slot_source=slot_source,
                   token_slot=token_slot)

    @property
    def num_tokens(self) -> int:
        return self.token_index.numel()

    def to_slots(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) packed tokens -> (S, ...) attention slots, each group's rows padded to its longest.

        A padding slot contains a copy of the first token of its row, and an
        extra slot at the end a copy of packed token 0. Both are finite values
        that the key mask hides, and their own outputs are dropped.
        """
        return packed if self.slot_source is None else packed.index_select(0, self.slot_source)

    def from_slots(self, slots: torch.Tensor) -> torch.Tensor:
        """(rows * seq_len summed over groups, ...) slots -> (N, ...) packed tokens, dropping the padding."""
        return slots if self.token_slot is None else slots.index_select(0, self.token_slot)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), with zeros at padded positions."""
        flat = packed.new_zeros(self.batch_size * self.seq_len, *packed.shape[1:])
        flat = flat.index_copy(0, self.token_index, packed)
        return flat.reshape(self.batch_size, self.seq_len, *packed.shape[1:])


def _attention_groups(sorted_lengths: list[int], key_multiple: int, *, dtype: torch.dtype, device: torch.device
                      ) -> tuple[tuple[AttentionGroup, ...], torch.Tensor | None, torch.Tensor | None]:
    """Cut rows sorted by decreasing length into groups of similar length.

    Returns the groups, and the packed token of each slot and the slot of each
    packed token as ``Packing`` stores them.
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
            key_len = -(-seq_len // key_multiple) * key_multiple
            key_mask = None
            if lengths[-1] < key_len:
                # A finite minimum keeps the padded query rows free of NaN.
                is_padding = (torch.arange(key_len, device=device)[None, :]
                              >= torch.tensor(lengths, device=device)[:, None])             # (rows, key_len)
                key_mask = (is_padding.to(dtype) * torch.finfo(dtype).min)[:, None, None, :]   # (rows, 1, 1, key_len)
            groups.append(AttentionGroup(start=slots, end=slots + rows * seq_len, rows=rows, seq_len=seq_len,
                                         key_len=key_len, key_mask=key_mask))
            group_lengths.append(lengths)
            slots += rows * seq_len
        first = row
    extra = max((group.end - group.seq_len + group.key_len for group in groups), default=0) - slots
    row_padding = any(lengths[-1] < lengths[0] for lengths in group_lengths)
    if not row_padding and extra == 0:
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
    slot_source.append(torch.zeros(extra, dtype=torch.long, device=device))
    return tuple(groups), torch.cat(slot_source), torch.cat(token_slot) if row_padding else None
