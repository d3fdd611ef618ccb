"""SentenceClassifier: a BERT encoder, a sentence representation, dropout and a linear layer.

    r = mean_t h_t            (pooling="mean": average of the real-token states)
    r = tanh(W h_[CLS] + b)   (pooling="cls": BERT's pooled [CLS] output)
    logits = W_out dropout(r) + b_out

all-MiniLM-L6-v2, the default encoder, was trained as a sentence embedder with
mean pooling, and its pooler was never trained. So "mean" is the default, a
choice confirmed by SST-5 dev accuracy (the README lists the runs).

Legend: B batch, T tokens, N real tokens, C hidden size, K labels.
"""

from typing import Literal

import torch
from torch import nn

from minbert.embeddings.pooling import mean_pool
from minbert.model.bert import BertModel, PackedStates
from minbert.model.dropout import Dropout

Pooling = Literal["mean", "cls"]
POOLINGS: tuple[str, ...] = Pooling.__args__


def cls_pool(encoder: BertModel, states: PackedStates) -> torch.Tensor:
    """(N, C) packed states -> (B, C) pooler output on position 0 of each row."""
    first_token = states.packing.unpack(states.hidden)[:, 0]                # (B, C)
    return encoder.pooler(first_token)


class SentenceClassifier(nn.Module):
    def __init__(self, encoder: BertModel, *, num_labels: int, pooling: Pooling = "mean",
                 dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r} is not supported; expected one of {POOLINGS}")
        if num_labels < 2:
            raise ValueError(f"num_labels={num_labels} must be at least 2")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = Dropout(dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    @property
    def num_labels(self) -> int:
        return self.classifier.out_features

    def represent(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) ids -> (B, C) sentence representations."""
        states = self.encoder.encode_packed(input_ids, attention_mask, token_type_ids)
        if self.pooling == "mean":
            return mean_pool(states)
        return cls_pool(self.encoder, states)

    def classify(self, representation: torch.Tensor) -> torch.Tensor:
        """(B, C) representations -> (B, K) logits."""
        return self.classifier(self.dropout(representation))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) ids -> (B, K) logits."""
        return self.classify(self.represent(input_ids, attention_mask, token_type_ids))
