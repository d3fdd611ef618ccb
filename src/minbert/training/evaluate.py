"""Prediction and accuracy over tokenised texts, in length-sorted batches."""

import torch

from minbert.data.batching import bucket_batches
from minbert.training.batches import EncodedTexts, collate
from minbert.training.classifier import SentenceClassifier


@torch.no_grad()
def predict_logits(model: SentenceClassifier, encoded: EncodedTexts, *, batch_size: int = 64,
                   pad_id: int = 0) -> torch.Tensor:
    """Return (M, K) logits for the M texts, in input order, with the model in eval mode."""
    was_training = model.training
    model.eval()
    logits = torch.empty(len(encoded), model.num_labels)
    for indices in bucket_batches(encoded.lengths, batch_size=batch_size, shuffle=False):
        batch = collate(encoded, indices, pad_id=pad_id)
        logits[torch.tensor(indices)] = model(batch.input_ids, batch.attention_mask).float()
    model.train(was_training)
    return logits


def accuracy(logits: torch.Tensor, labels: list[int]) -> float:
    """Fraction of rows whose arg-max logit is the gold label."""
    predictions = logits.argmax(dim=1)
    return (predictions == torch.tensor(labels)).float().mean().item()
