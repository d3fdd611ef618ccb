"""Multi-head self-attention over packed tokens, as in BERT (Devlin et al., 2019).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(D) + M) V

with Q, K, V the projections of the input split into H heads of size D, and M
the additive padding mask (0 for real keys, a large negative for padding).
The three projections are one fused (C -> 3C) matrix multiply on the
attention slots: the real tokens laid out per group of rows of similar length,
each row padded to the group's longest (see ``packing``). On CPU without
gradients each row attends to a multiple of 16 keys, the slots past its own
hidden by the mask, because torch's attention kernel is faster on such lengths.

Must match transformers' ``BertSelfAttention`` + ``BertSelfOutput`` before the
residual (eval mode, within 1e-5). The fused ``qkv`` weight is the row-wise
concatenation of the query, key and value weights of a Hugging Face checkpoint;
``minbert.model.checkpoint`` converts between the two.
"""

import torch
import torch.nn.functional as F
from torch import nn

from minbert.model import onednn
from minbert.model.config import BertConfig
from minbert.model.dropout import Dropout
from minbert.model.packing import Packing


class SelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor, packing: Packing, residual: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C) real-token states -> (N, C) attention output, before dropout; plus ``residual`` if given."""
        H, D = self.num_heads, self.head_dim
        C = H * D

        # The projections run on the attention slots: the real tokens, the padding of each
        # group and the extra slots that the last row's keys reach (see ``packing``). On
        # length-sorted SST batches of 32 that is 1.5% more rows, 0.6% with gradients.
        qkv = onednn.linear(self.qkv, packing.to_slots(hidden))         # (S, 3C)
        contexts = []
        for group in packing.groups:
            R, T, P = group.rows, group.seq_len, group.key_len
            # Row r's P key slots start at its first slot: windows that overlap when P > T.
            windows = qkv[group.start:group.start + (R - 1) * T + P].unfold(0, P, T)   # (R, 3C, P)
            query, key, value = windows.unflatten(1, (3, H, D)).permute(1, 0, 2, 4, 3).unbind(0)  # (R, H, P, D)
            context = self._attend(query[:, :, :T], key, value, group.key_mask)  # (R, H, T, D)
            contexts.append(context.transpose(1, 2).reshape(R * T, C))   # (R*T, C)
        if not contexts:                                                 # no real token in the batch
            contexts.append(qkv.new_zeros(0, C))
        context = contexts[0] if len(contexts) == 1 else torch.cat(contexts)  # (S, C)
        context = packing.from_slots(context)                            # (N, C)
        if residual is not None:
            return onednn.linear_add(self.out, context, residual)
        return onednn.linear(self.out, context)

    def _attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_mask: torch.Tensor | None) -> torch.Tensor:
        """softmax(Q K^T / sqrt(D) + M) V on (R, H, T, D) tensors, with dropout on the weights in training."""
        if not (self.training and self.dropout.p > 0):
            return F.scaled_dot_product_attention(query, key, value, attn_mask=key_mask)
        # Written out so the attention weights go through minbert's faster dropout.
        scores = query @ key.transpose(-1, -2) * self.head_dim**-0.5         # (R, H, T, T)
        if key_mask is not None:
            scores = scores + key_mask
        return self.dropout(scores.softmax(dim=-1)) @ value                  # (R, H, T, D)
