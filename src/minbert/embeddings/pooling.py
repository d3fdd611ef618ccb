"""Pooling: one sentence vector from the final states of its real tokens.

    mean: e = (1 / n) sum_t h_t          over the n real tokens
    cls:  e = h_0                         the final state of [CLS], without BERT's pooler layer
    max:  e_c = max_t h_{t,c}             per component, over the real tokens

These are the three modes of sentence-transformers' ``Pooling`` module that
minbert supports. Legend: B batch, N real tokens of the batch, C hidden size.
"""

from typing import Literal

import torch

from minbert.model.bert import PackedStates

PoolingMode = Literal["mean", "cls", "max"]
POOLING_MODES: tuple[str, ...] = PoolingMode.__args__


def mean_pool(states: PackedStates) -> torch.Tensor:
    """(N, C) packed states -> (B, C) mean over each row's real tokens (zeros for an empty row)."""
    packing = states.packing
    # One matrix multiply by the (B, N) averaging weights: faster on CPU than adding the N rows one by one.
    share = 1.0 / packing.lengths.clamp(min=1).to(states.hidden.dtype)    # (B,)
    weights = states.hidden.new_zeros(packing.batch_size, packing.num_tokens)
    weights[packing.batch_index, torch.arange(packing.num_tokens, device=weights.device)] = share[packing.batch_index]
    return weights @ states.hidden                                          # (B, C)


def first_token_pool(states: PackedStates) -> torch.Tensor:
    """(N, C) packed states -> (B, C) final state at position 0 of each row."""
    return states.packing.unpack(states.hidden)[:, 0]


def max_pool(states: PackedStates) -> torch.Tensor:
    """(N, C) packed states -> (B, C) component-wise maximum over each row's real tokens."""
    packing = states.packing
    maxima = states.hidden.new_full((packing.batch_size, states.hidden.shape[1]), float("-inf"))
    index = packing.batch_index.unsqueeze(1).expand_as(states.hidden)
    return maxima.scatter_reduce(0, index, states.hidden, reduce="amax", include_self=True)


def pool(states: PackedStates, mode: PoolingMode) -> torch.Tensor:
    """(N, C) packed states -> (B, C) sentence vectors by ``mode``."""
    if mode == "mean":
        return mean_pool(states)
    if mode == "cls":
        return first_token_pool(states)
    if mode == "max":
        return max_pool(states)
    raise ValueError(f"pooling mode {mode!r} is not supported (expected one of {', '.join(POOLING_MODES)})")
