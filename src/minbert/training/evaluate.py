"""Prediction and accuracy over tokenised texts, in length-sorted batches."""

import torch

from minbert.data.batching import apply_in_batches
from minbert.training.batches import EncodedTexts
from minbert.training.classifier import SentenceClassifier


def predict_logits(model: SentenceClassifier, encoded: EncodedTexts, *, batch_size: int = 64,
                   pad_id: int = 0) -> torch.Tensor:
    """Return (M, K) logits for the M texts, in input order, with the model in eval mode."""
    was_training = model.training
    model.eval()
    logits = apply_in_batches(model, encoded.ids, width=model.num_labels, batch_size=batch_size, pad_id=pad_id)
    model.train(was_training)
    return logits


def accuracy(logits: torch.Tensor, labels: list[int]) -> float:
    """Fraction of rows whose arg-max logit is the gold label."""
    predictions = logits.argmax(dim=1)
    return (predictions == torch.tensor(labels)).float().mean().item()
