"""Multi-head self-attention over packed tokens, as in BERT (Devlin et al., 2019).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(D) + M) V

with Q, K, V the projections of the input split into H heads of size D, and M
the additive padding mask (0 for real keys, a large negative for padding).
The three projections are one fused (C -> 3C) matrix multiply on the N real
tokens; only the scores use the padded (B, H, T, T) layout.

Must match transformers' ``BertSelfAttention`` + ``BertSelfOutput`` before the
residual (eval mode, within 1e-5). The fused ``qkv`` weight is the row-wise
concatenation of the query, key and value weights of a Hugging Face checkpoint;
``minbert.model.checkpoint`` converts between the two.
"""

import torch
import torch.nn.functional as F
from torch import nn

from minbert.model.config import BertConfig
from minbert.model.packing import Packing


class SelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.dropout_prob = config.attention_probs_dropout_prob
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
        """(N, C) real-token states -> (N, C) attention output, before dropout and residual."""
        B, T, H, D = packing.batch_size, packing.seq_len, self.num_heads, self.head_dim
        C = H * D

        # Project on real tokens only, then lay out the heads for the scores.
        qkv = self.qkv(hidden)                                   # (N, 3C)
        if packing.num_tokens != B * T:
            qkv = packing.unpack(qkv)                            # (B, T, 3C)
        qkv = qkv.view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)     # (3, B, H, T, D)
        query, key, value = qkv.unbind(0)                        # each (B, H, T, D)

        # Scaled dot-product attention; padded keys get the additive mask.
        dropout_p = self.dropout_prob if self.training else 0.0
        context = F.scaled_dot_product_attention(
            query, key, value, attn_mask=packing.key_mask, dropout_p=dropout_p
        )                                                        # (B, H, T, D)
        context = context.transpose(1, 2).reshape(B, T, C)       # (B, T, C)
        if packing.num_tokens != B * T:
            context = packing.pack(context)                      # (N, C)
        else:
            context = context.reshape(B * T, C)
        return self.out(context)                                 # (N, C)
