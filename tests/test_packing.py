"""Packing: real tokens packed row by row, and the attention slots of each group of similar rows."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.model.packing import Packing


def test_similar_rows_share_slots():
    # Lengths 3 and 4: the longer row is packed first, and the shorter one gets one padding slot.
    packing = Packing.from_mask(torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]), dtype=torch.float32)

    assert packing.batch_index.tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert [(group.start, group.end, group.rows, group.seq_len, group.key_len)
            for group in packing.groups] == [(0, 8, 2, 4, 4)]
    assert packing.slot_source.tolist() == [0, 1, 2, 3, 4, 5, 6, 4]
    assert packing.token_slot.tolist() == [0, 1, 2, 3, 4, 5, 6]
    key_mask = packing.groups[0].key_mask.reshape(2, 4)
    assert (key_mask[0] == 0).all()
    assert (key_mask[1, :3] == 0).all()
    assert key_mask[1, 3] < -1e38


def test_keys_round_up_to_the_key_multiple():
    packing = Packing.from_mask(torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]), dtype=torch.float32, key_multiple=16)

    assert [(group.start, group.end, group.rows, group.seq_len, group.key_len)
            for group in packing.groups] == [(0, 8, 2, 4, 16)]
    # The second row's 16 keys run 12 slots past the group: copies of the first token.
    assert packing.slot_source.tolist() == [0, 1, 2, 3, 4, 5, 6, 4] + [0] * 12
    assert packing.token_slot.tolist() == [0, 1, 2, 3, 4, 5, 6]
    key_mask = packing.groups[0].key_mask.reshape(2, 16)
    assert (key_mask[0, :4] == 0).all()
    assert (key_mask[0, 4:] < -1e38).all()
    assert (key_mask[1, :3] == 0).all()
    assert (key_mask[1, 3:] < -1e38).all()


def test_equal_rows_get_end_slots():
    packing = Packing.from_mask(torch.ones(3, 17, dtype=torch.long), dtype=torch.float32, key_multiple=16)

    (group,) = packing.groups
    assert (group.seq_len, group.key_len) == (17, 32)
    assert packing.slot_source.tolist() == list(range(51)) + [0] * 15
    assert packing.token_slot is None


def test_unequal_rows_need_no_slots():
    packing = Packing.from_mask(torch.tensor([[1, 0, 0], [1, 1, 0]]), dtype=torch.float32)

    assert [(group.start, group.end, group.rows) for group in packing.groups] == [(0, 2, 1), (2, 3, 1)]
    assert packing.slot_source is None
    assert packing.token_slot is None
    tokens = torch.arange(3.0)
    assert packing.to_slots(tokens) is tokens
    assert packing.from_slots(tokens) is tokens


def test_rows_of_whole_key_multiples_need_no_slots():
    mask = torch.zeros(3, 32, dtype=torch.long)
    mask[0, :16] = mask[1, :32] = mask[2, :32] = 1
    packing = Packing.from_mask(mask, dtype=torch.float32, key_multiple=16)

    assert [(group.start, group.end, group.rows, group.key_mask)
            for group in packing.groups] == [(0, 64, 2, None), (64, 80, 1, None)]
    assert packing.slot_source is None
    assert packing.token_slot is None
    tokens = torch.arange(80.0)
    assert packing.to_slots(tokens) is tokens
    assert packing.from_slots(tokens) is tokens


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=20, max_size=20), min_size=1, max_size=9), st.sampled_from([1, 16]))
def test_slots_round_trip_any_mask(mask_rows, key_multiple):
    packing = Packing.from_mask(torch.tensor(mask_rows, dtype=torch.long), dtype=torch.float32,
                                key_multiple=key_multiple)
    tokens = torch.arange(packing.num_tokens)
    slots = packing.to_slots(tokens)

    body = sum(group.rows * group.seq_len for group in packing.groups)
    assert packing.from_slots(slots[:body]).tolist() == tokens.tolist()
    for group in packing.groups:
        assert group.key_len % key_multiple == 0
        assert group.seq_len <= group.key_len < group.seq_len + key_multiple
        # The last row's keys stay inside the slots.
        assert group.end - group.seq_len + group.key_len <= len(slots)
        rows = slots[group.start:group.end].reshape(group.rows, group.seq_len)
        padding = torch.zeros(group.rows, group.key_len, dtype=torch.bool) if group.key_mask is None \
            else group.key_mask.reshape(group.rows, group.key_len) < 0
        # Every key past a row's slots is hidden.
        assert padding[:, group.seq_len:].all()
        padding = padding[:, :group.seq_len]
        for row, row_padding in zip(rows, padding):
            real = row[~row_padding]
            # The real tokens of a row are consecutive packed tokens of one original row, in order.
            assert real.tolist() == list(range(int(real[0]), int(real[0]) + len(real)))
            assert len(set(packing.batch_index[real].tolist())) == 1
            # A padding slot repeats its row's first token.
            assert (row[row_padding] == real[0]).all()
            # Padding comes only after a row's real tokens.
            assert not row_padding[: len(real)].any()
