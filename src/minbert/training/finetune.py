"""The fine-tuning loop for sentence classification.

    for each epoch:
        for each length-bucketed, shuffled batch:
            loss = cross_entropy(classifier(encoder(batch)), labels)
            clip gradients, AdamW step, lr schedule step
        score the dev set; if it is the best so far, save the checkpoint

In "last-linear-layer" mode the encoder is frozen and in eval mode, so each
text's representation never changes: they are computed once, and the epochs
train the linear layer (with dropout) on them, which takes seconds.

Under torchrun each rank trains on its slice of every batch (see
``minbert.training.distributed``); without a ``DistributedContext`` the loop
runs in one process, as it always has.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from minbert.data.batching import apply_in_batches, bucket_batches
from minbert.optim.adamw import AdamW
from minbert.optim.schedule import linear_warmup_decay
from minbert.training.batches import EncodedTexts, collate
from minbert.training.classifier import SentenceClassifier
from minbert.training.config import FinetuneConfig
from minbert.training.distributed import (DistributedContext, average_across_ranks, broadcast_from_main,
                                          check_config, shard_batch, wait_for_all, wrap_model)
from minbert.training.evaluate import accuracy, predict_logits
from minbert.training.update import apply_update, check_finite_loss

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    dev_accuracy: float
    seconds: float
    examples_per_second: float


@dataclass
class FinetuneResult:
    best_epoch: int = 0
    best_dev_accuracy: float = -1.0
    history: list[EpochRecord] = field(default_factory=list)
    encoding_seconds: float = 0.0   # last-linear-layer mode: time to encode every text once


def compute_representations(model: SentenceClassifier, encoded: EncodedTexts, *, batch_size: int,
                            pad_id: int, progress: bool, description: str) -> torch.Tensor:
    """Return the (M, C) sentence representations of all texts, in input order, encoder in eval mode."""
    model.eval()
    return apply_in_batches(model.represent, encoded.ids, width=model.encoder.config.hidden_size,
                            batch_size=batch_size, pad_id=pad_id, progress=progress, description=description)


def score_dev(model: SentenceClassifier, dev: EncodedTexts, dev_features: torch.Tensor | None, *,
              pad_id: int) -> float:
    """Return the dev accuracy, from ``dev_features`` when the encoder is frozen, else from the texts."""
    if dev_features is not None:
        model.eval()
        with torch.no_grad():
            dev_logits = model.classify(dev_features)
    else:
        dev_logits = predict_logits(model, dev, pad_id=pad_id)
    return accuracy(dev_logits, dev.labels)


def finetune(
    model: SentenceClassifier,
    train: EncodedTexts,
    dev: EncodedTexts,
    config: FinetuneConfig,
    *,
    pad_id: int,
    on_epoch_end: Callable[[SentenceClassifier, EpochRecord, bool], None] | None = None,
    progress: bool = True,
    context: DistributedContext | None = None,
) -> FinetuneResult:
    """Train ``model`` in place on ``train``, scoring ``dev`` after each epoch.

    ``on_epoch_end(model, record, improved)`` is called after each dev score;
    ``improved`` is True when the dev accuracy beat every earlier epoch (the
    CLI saves the checkpoint then). Randomness (head initialisation aside,
    which the caller seeds) comes from ``config.seed``.

    With a ``context`` the process group must be initialised: each rank
    trains on its shard of every batch, and only rank 0 shows progress,
    scores dev and calls ``on_epoch_end``. Every rank returns the same losses
    and dev accuracies; the timings are each rank's own.
    """
    config = config.resolved()
    if train.labels is None or dev.labels is None:
        raise ValueError("finetune needs labelled train and dev texts")
    is_main = context is None or context.is_main
    if context is not None:
        check_config(config, context)
    progress = progress and is_main
    # Dropout draws its masks from generators seeded here: a different seed per rank gives each
    # rank its own masks. Batch order comes from config.seed alone, so it is the same on every rank.
    torch.manual_seed(config.seed + (context.rank if context else 0))
    frozen = config.mode == "last-linear-layer"

    # Frozen encoder: encode every text once; the loop then only trains the linear layer.
    result = FinetuneResult()
    if frozen:
        encoding_started = time.perf_counter()
        model.encoder.requires_grad_(False)
        train_features = compute_representations(model, train, batch_size=64, pad_id=pad_id,
                                                 progress=progress, description="encoding train")
        dev_features = compute_representations(model, dev, batch_size=64, pad_id=pad_id,
                                               progress=progress, description="encoding dev")
        result.encoding_seconds = time.perf_counter() - encoding_started
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]

    batches_per_epoch = -(-len(train) // config.batch_size)
    total_steps = batches_per_epoch * config.epochs
    optimizer = AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = linear_warmup_decay(optimizer, warmup_steps=int(config.warmup_ratio * total_steps),
                                    total_steps=total_steps)
    logger.info("fine-tuning %s: %d train, %d dev texts, %d epochs of %d batches, lr %g",
                config.mode, len(train), len(dev), config.epochs, batches_per_epoch, config.lr)

    labels = torch.tensor(train.labels)
    # Mean pooling leaves the pooler out of the forward pass.
    forward = wrap_model(model, context, find_unused_parameters=model.pooling == "mean")
    for epoch in range(1, config.epochs + 1):
        if frozen:
            model.dropout.train()
        else:
            model.train()
        batches = bucket_batches(train.lengths, batch_size=config.batch_size, shuffle=True,
                                 seed=config.seed, epoch=epoch)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not progress)
        started, seen, loss_sum = time.perf_counter(), 0, 0.0
        for batch_number, indices in enumerate(bar, start=1):
            # Forward and loss on this rank's shard of the batch (the whole batch in one process).
            shard = shard_batch(indices, context)
            if frozen:
                logits = model.classify(train_features[shard.indices])
                batch_labels = labels[shard.indices]
            else:
                batch = collate(train, shard.indices, pad_id=pad_id)
                logits = forward(batch.input_ids, batch.attention_mask)
                batch_labels = batch.labels
            loss = F.cross_entropy(logits, batch_labels) * shard.loss_scale
            # Every rank gets the mean loss of the whole batch, so a non-finite loss stops all of them together.
            batch_loss = average_across_ranks(loss.detach(), context)
            check_finite_loss(batch_loss, name="loss", where=f"epoch {epoch}, batch {batch_number}", lr=config.lr,
                              saved="checkpoint")
            apply_update(loss, optimizer, scheduler, trainable, max_grad_norm=config.max_grad_norm)

            seen += len(indices)
            loss_sum += batch_loss.item() * len(indices)
            elapsed = time.perf_counter() - started
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", ex_per_s=f"{seen / elapsed:.1f}")
        seconds = time.perf_counter() - started

        # Score dev on rank 0 and keep the best epoch. The other ranks wait for its accuracy.
        dev_accuracy = score_dev(model, dev, dev_features if frozen else None, pad_id=pad_id) if is_main else 0.0
        dev_accuracy = broadcast_from_main(dev_accuracy, context)
        record = EpochRecord(epoch=epoch, train_loss=loss_sum / seen,
                             dev_accuracy=dev_accuracy, seconds=seconds, examples_per_second=seen / seconds)
        result.history.append(record)
        logger.info("epoch %d: train loss %.4f, dev accuracy %.4f, %.1f examples/s",
                    epoch, record.train_loss, record.dev_accuracy, record.examples_per_second)
        improved = record.dev_accuracy > result.best_dev_accuracy
        if improved:
            result.best_epoch, result.best_dev_accuracy = epoch, record.dev_accuracy
        if on_epoch_end is not None and is_main:
            on_epoch_end(model, record, improved)
        # The other ranks wait here until rank 0 has saved the checkpoint.
        wait_for_all(context)
    return result
