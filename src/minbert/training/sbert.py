"""Siamese Sentence-BERT training: fine-tune a SentenceEncoder on sentence pairs.

    for each epoch:
        for each length-bucketed, shuffled batch of pairs (first_i, second_i, score_i):
            u, v = encoder(first), encoder(second)       one shared encoder, one forward pass
            loss = cosine | cosent (scored pairs) or mnrl (positive pairs), see ``sbert_losses``
            clip gradients, AdamW step, lr schedule step
        STS dev: Spearman and Pearson of cos(u_i, v_i) against the gold scores
        keep the epoch with the best Spearman

Both sides of a batch are padded together and run through the encoder in a
single forward pass, then split. A pair's length for bucketing is the longer
of its two texts. ``save_encoder_atomic`` writes the model into a temporary
folder beside the output and renames it into place, so an interrupted run
leaves the previous best model complete.

Limitations: the model is selected on the same STS dev set that is
reported, so the best-epoch score is slightly optimistic.
"""

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from minbert.atomic import atomic_folder, write_text_atomic
from minbert.data.batching import bucket_batches
from minbert.data.pairs import ScoredPair
from minbert.embeddings.encoder import SentenceEncoder
from minbert.embeddings.sts import StsResult, evaluate_sts
from minbert.errors import ConfigError, ParameterError
from minbert.optim.adamw import AdamW
from minbert.optim.schedule import linear_warmup_decay
from minbert.outputs import MODEL_FOLDER, check_output_folder
from minbert.training.sbert_losses import DEFAULT_SCALE, SBERT_LOSSES, SCORED_LOSSES, SbertLoss, sbert_loss
from minbert.training.update import apply_update, check_finite_loss

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SbertConfig:
    """Hyper-parameters of siamese training."""

    loss: SbertLoss = "cosent"
    epochs: int = 1
    batch_size: int = 16
    lr: float = 2e-5
    warmup_ratio: float = 0.1      # fraction of all updates with linearly rising lr
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0     # 0 turns clipping off
    scale: float = DEFAULT_SCALE   # cosent and mnrl: multiplier of the cosines
    max_score: float = 5.0         # cosine: gold scores are divided by this (5 for STS)
    seed: int = 0
    max_steps: int | None = None   # stop after this many updates, inside an epoch if need be (None: all epochs)

    def __post_init__(self) -> None:
        if self.loss not in SBERT_LOSSES:
            raise ParameterError("loss", self.loss, f"is not supported (expected one of {', '.join(SBERT_LOSSES)})")
        if self.epochs < 1:
            raise ParameterError("epochs", self.epochs, "is invalid (expected 1 or more)")
        # CoSENT compares the pairs of a batch with each other and MNRL uses them as negatives.
        minimum_batch = 1 if self.loss == "cosine" else 2
        if self.batch_size < minimum_batch:
            raise ParameterError("batch_size", self.batch_size,
                                 f"is invalid for loss {self.loss!r} (expected {minimum_batch} or more)")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ParameterError("lr", self.lr, "is invalid (expected a positive number such as 2e-5)")
        if not 0 <= self.warmup_ratio <= 1:
            raise ParameterError("warmup_ratio", self.warmup_ratio, "is invalid (expected 0 to 1)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ParameterError("max_steps", self.max_steps, "is invalid (expected 1 or more, or no limit)")
        if self.seed < 0:
            raise ParameterError("seed", self.seed, "is invalid (expected 0 or more)")


@dataclass(frozen=True)
class SbertEpoch:
    epoch: int
    train_loss: float
    dev: StsResult
    seconds: float
    pairs_per_second: float


@dataclass
class SbertResult:
    best_epoch: int = 0
    best_dev: StsResult | None = None
    history: list[SbertEpoch] = field(default_factory=list)


@dataclass(frozen=True)
class EncodedPairs:
    """Token ids of both sides of each pair, and the gold scores (None for positive pairs)."""

    first: list[list[int]]
    second: list[list[int]]
    scores: list[float] | None

    def __len__(self) -> int:
        return len(self.first)

    @property
    def lengths(self) -> list[int]:
        return [max(len(a), len(b)) for a, b in zip(self.first, self.second)]


def encode_pairs(encoder: SentenceEncoder, pairs: Sequence[ScoredPair], *, with_scores: bool) -> EncodedPairs:
    """Tokenise both sides of every pair with the encoder's tokenizer and maximum length."""
    return EncodedPairs(first=encoder.tokenize([pair.first for pair in pairs]),
                        second=encoder.tokenize([pair.second for pair in pairs]),
                        scores=[pair.score for pair in pairs] if with_scores else None)


def train_sbert(
    encoder: SentenceEncoder,
    train: EncodedPairs,
    dev: Sequence[ScoredPair],
    config: SbertConfig,
    *,
    on_epoch_end: Callable[[SentenceEncoder, SbertEpoch, bool], None] | None = None,
    progress: bool = True,
) -> SbertResult:
    """Train ``encoder`` in place on ``train`` and score the STS ``dev`` pairs after each epoch.

    ``on_epoch_end(encoder, record, improved)`` runs after each dev score;
    ``improved`` is True when the dev Spearman beat every earlier epoch (the
    caller saves the model then). With ``config.max_steps`` training stops
    after that many updates, and the epoch it stops in is scored as usual.
    Raises TrainingError when the loss stops
    being finite, and ConfigError when the loss needs scores that ``train``
    does not have.
    """
    if config.loss in SCORED_LOSSES and train.scores is None:
        raise ConfigError(f"loss {config.loss!r} needs scored pairs, but these pairs have no scores (use mnrl)")
    if len(train) == 0:
        raise ConfigError("no training pairs (expected at least one)")
    # Dropout masks come from the global generator; the batch order comes from config.seed too.
    torch.manual_seed(config.seed)

    batches_per_epoch = -(-len(train) // config.batch_size)
    total_steps = batches_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    parameters = [parameter for parameter in encoder.parameters() if parameter.requires_grad]
    optimizer = AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = linear_warmup_decay(optimizer, warmup_steps=int(config.warmup_ratio * total_steps),
                                    total_steps=total_steps)
    logger.info("sbert training, loss %s: %d pairs, %d epochs of %d batches, lr %g",
                config.loss, len(train), config.epochs, batches_per_epoch, config.lr)

    result = SbertResult()
    lengths = train.lengths
    steps_done = 0
    for epoch in range(1, config.epochs + 1):
        if steps_done == total_steps:
            break
        encoder.train()
        batches = bucket_batches(lengths, batch_size=config.batch_size, shuffle=True, seed=config.seed, epoch=epoch)
        batches = batches[:total_steps - steps_done]
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not progress)
        started, seen, loss_sum = time.perf_counter(), 0, 0.0
        for batch_number, indices in enumerate(bar, start=1):
            loss = batch_loss(encoder, train, indices, config)
            check_finite_loss(loss, name="loss", where=f"epoch {epoch}, batch {batch_number}", lr=config.lr,
                              saved="model")
            apply_update(loss, optimizer, scheduler, parameters, max_grad_norm=config.max_grad_norm)
            steps_done += 1

            seen += len(indices)
            loss_sum += loss.item() * len(indices)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", pairs_per_s=f"{seen / (time.perf_counter() - started):.1f}")
        seconds = time.perf_counter() - started

        # Score STS dev and keep the best epoch.
        dev_scores = evaluate_sts(encoder, dev, batch_size=64, show_progress=False)
        record = SbertEpoch(epoch=epoch, train_loss=loss_sum / seen, dev=dev_scores, seconds=seconds,
                            pairs_per_second=seen / seconds)
        result.history.append(record)
        logger.info("epoch %d: train loss %.4f, dev Spearman %.4f, Pearson %.4f",
                    epoch, record.train_loss, record.dev.spearman, record.dev.pearson)
        improved = result.best_dev is None or record.dev.spearman > result.best_dev.spearman
        if improved:
            result.best_epoch, result.best_dev = epoch, record.dev
        if on_epoch_end is not None:
            on_epoch_end(encoder, record, improved)
    encoder.eval()
    return result


def batch_loss(encoder: SentenceEncoder, train: EncodedPairs, indices: Sequence[int],
               config: SbertConfig) -> torch.Tensor:
    """Embed both sides of the pairs at ``indices`` in one forward pass and return the batch loss."""
    B = len(indices)
    rows = [train.first[index] for index in indices] + [train.second[index] for index in indices]
    embeddings = encoder.embed_ids(rows)                                     # (2B, C)
    scores = None
    if train.scores is not None:
        scores = torch.tensor([train.scores[index] for index in indices], dtype=embeddings.dtype)
    return sbert_loss(config.loss, embeddings[:B], embeddings[B:], scores,
                      scale=config.scale, max_score=config.max_score)


def save_encoder_atomic(encoder: SentenceEncoder, output: str | Path, *, extra_files: dict[str, str] | None = None
                        ) -> None:
    """Write ``encoder`` (and ``extra_files``, name to text) as the folder ``output``, replacing it whole.

    The files go to a temporary folder beside ``output``, which is then
    renamed into place (see ``minbert.atomic.atomic_folder``), so an
    interruption leaves either the old model or the new one. Raises
    OutputError when ``output`` contains anything but the files of a model
    folder (see ``minbert.outputs.MODEL_FOLDER``).
    """
    output = Path(output)
    check_output_folder(output, MODEL_FOLDER, flag="output", kind="model folder", replaced_whole=True)
    with atomic_folder(output) as staging:
        encoder.save_pretrained(staging)
        for name, text in (extra_files or {}).items():
            write_text_atomic(staging / name, text)
