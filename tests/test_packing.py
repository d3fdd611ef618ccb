"""Packing: real tokens packed row by row, and the attention slots of each group of similar rows."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.model.packing import Packing


def test_similar_rows_share_slots():
    # Lengths 3 and 4: the longer row is packed first, and the shorter one gets one padding slot.
    packing = Packing.from_mask(torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]), dtype=torch.float32)

    assert packing.batch_index.tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert [(group.start, group.end, group.rows, group.seq_len) for group in packing.groups] == [(0, 8, 2, 4)]
    assert packing.slot_source.tolist() == [0, 1, 2, 3, 4, 5, 6, 4]
    assert packing.token_slot.tolist() == [0, 1, 2, 3, 4, 5, 6]
    key_mask = packing.groups[0].key_mask.reshape(2, 4)
    assert (key_mask[0] == 0).all()
    assert (key_mask[1, :3] == 0).all()
    assert key_mask[1, 3] < -1e38


def test_unequal_rows_need_no_slots():
    packing = Packing.from_mask(torch.tensor([[1, 0, 0], [1, 1, 0]]), dtype=torch.float32)

    assert [(group.start, group.end, group.rows) for group in packing.groups] == [(0, 2, 1), (2, 3, 1)]
    assert packing.slot_source is None
    assert packing.token_slot is None
    tokens = torch.arange(3.0)
    assert packing.to_slots(tokens) is tokens
    assert packing.from_slots(tokens) is tokens


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=9))
def test_slots_round_trip_any_mask(mask_rows):
    packing = Packing.from_mask(torch.tensor(mask_rows, dtype=torch.long), dtype=torch.float32)
    tokens = torch.arange(packing.num_tokens)
    slots = packing.to_slots(tokens)

    assert packing.from_slots(slots).tolist() == tokens.tolist()
    for group in packing.groups:
        rows = slots[group.start:group.end].reshape(group.rows, group.seq_len)
        padding = torch.zeros(group.rows, group.seq_len, dtype=torch.bool) if group.key_mask is None \
            else group.key_mask.reshape(group.rows, group.seq_len) < 0
        for row, row_padding in zip(rows, padding):
            real = row[~row_padding]
            # The real tokens of a row are consecutive packed tokens of one original row, in order.
            assert real.tolist() == list(range(int(real[0]), int(real[0]) + len(real)))
            assert len(set(packing.batch_index[real].tolist())) == 1
            # A padding slot repeats its row's first token.
            assert (row[row_padding] == real[0]).all()
            # Padding comes only after a row's real tokens.
            assert not row_padding[: len(real)].any()
