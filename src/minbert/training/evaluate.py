"""Prediction and accuracy over tokenised texts, in length-sorted batches."""

from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from minbert.data.batching import bucket_batches
from minbert.training.batches import EncodedTexts, collate
from minbert.training.classifier import SentenceClassifier


@torch.no_grad()
def apply_in_batches(forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], encoded: EncodedTexts, *,
                     width: int, batch_size: int, pad_id: int, progress: bool = False,
                     description: str = "") -> torch.Tensor:
    """Run ``forward(input_ids, attention_mask) -> (B, width)`` over length-sorted batches.

    Returns the (M, width) rows in input order, without gradients.
    """
    rows = torch.empty(len(encoded), width)
    batches = bucket_batches(encoded.lengths, batch_size=batch_size, shuffle=False)
    for indices in tqdm(batches, desc=description, unit="batch", disable=not progress, leave=False):
        batch = collate(encoded, indices, pad_id=pad_id)
        rows[torch.tensor(indices)] = forward(batch.input_ids, batch.attention_mask).float()
    return rows


def predict_logits(model: SentenceClassifier, encoded: EncodedTexts, *, batch_size: int = 64,
                   pad_id: int = 0) -> torch.Tensor:
    """Return (M, K) logits for the M texts, in input order, with the model in eval mode."""
    was_training = model.training
    model.eval()
    logits = apply_in_batches(model, encoded, width=model.num_labels, batch_size=batch_size, pad_id=pad_id)
    model.train(was_training)
    return logits


def accuracy(logits: torch.Tensor, labels: list[int]) -> float:
    """Fraction of rows whose arg-max logit is the gold label."""
    predictions = logits.argmax(dim=1)
    return (predictions == torch.tensor(labels)).float().mean().item()
