"""The parts of a BERT encoder: embeddings, the post-LayerNorm layer and the pooler.

Every module takes and returns packed real-token states of shape (N, C); see
``minbert.model.packing``. Legend: B batch, T tokens per row, N real tokens,
C hidden size, I intermediate (feed-forward) size.
"""

import torch
import torch.nn.functional as F
from torch import nn

from minbert.model.attention import SelfAttention
from minbert.model.config import BertConfig
from minbert.model import onednn
from minbert.model.dropout import Dropout
from minbert.model.packing import Packing

_ACTIVATIONS = {
    "gelu": F.gelu,                                            # exact, with erf
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


class Embeddings(nn.Module):
    """LayerNorm(word + learned position + token type embedding), then dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, packing: Packing) -> torch.Tensor:
        """(B, T) ids -> (N, C) embeddings of the real tokens."""
        # Positions count from the start of the row, padding included, as in transformers.
        word_ids = input_ids.reshape(-1).index_select(0, packing.token_index)      # (N,)
        type_ids = token_type_ids.reshape(-1).index_select(0, packing.token_index)  # (N,)
        summed = self.word(word_ids) + self.position(packing.positions) + self.token_type(type_ids)
        return self.dropout(self.norm(summed))                                     # (N, C)


class EncoderLayer(nn.Module):
    """Post-LN transformer layer: x = LN(x + Attn(x)); x = LN(x + FFN(x)), dropout before each sum."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = SelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.activation = _ACTIVATIONS[config.hidden_act]

    def forward(self, hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
        """(N, C) -> (N, C)."""
        dropout = self.training and self.dropout.p > 0
        if dropout:
            attended = self.attention(hidden, packing)                         # (N, C)
            hidden = self.attention_norm(hidden + self.dropout(attended))
        else:
            # Without dropout the residual sum happens inside the output projection (see ``onednn``).
            hidden = self.attention_norm(self.attention(hidden, packing, residual=hidden))

        if self.activation is F.gelu:
            expanded = onednn.linear_gelu(self.intermediate, hidden)           # (N, I)
        else:
            expanded = self.activation(self.intermediate(hidden))
        if dropout:
            return self.output_norm(hidden + self.dropout(self.output(expanded)))
        return self.output_norm(onednn.linear_add(self.output, expanded, hidden))  # (N, C)


class Pooler(nn.Module):
    """tanh(W h_[CLS] + b): BERT's sentence representation for next-sentence prediction."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, first_token: torch.Tensor) -> torch.Tensor:
        """(B, C) states at position 0 -> (B, C)."""
        return torch.tanh(self.dense(first_token))
