"""The multitask model: one shared BERT encoder, one head per task, trained jointly.

    r      = pool(encoder(x))                    x: "[CLS] a [SEP]" or "[CLS] a [SEP] b [SEP]"
    sst    logits = W_sst dropout(r) + b         (B, 5)   cross-entropy, dev accuracy
    quora  logits = W_qqp dropout(r) + b         (B, 2)   cross-entropy, dev accuracy
    sts    s      = 5 sigmoid(w_sts . dropout(r) + b)     (B,)  MSE of s/5 against y/5, dev Pearson

Pair encoding: a pair is cross-encoded as one sequence ``[CLS] a [SEP] b [SEP]``
with token types 0 for a and 1 for b, which is how BERT itself is fine-tuned
on sentence-pair tasks. Every attention layer then compares the tokens of a
with those of b, so matching words, negations and swapped roles reach the
head directly. A siamese model compares the two texts only through two pooled
vectors (u, v, |u - v|, u * v). That is cheaper when many texts are compared
with each other (search), but this model scores given pairs, one encoder pass
per pair. SST sentences use the same format with segment a only.

Task sampling: each step trains on one batch of one task, drawn with

    p_t = sqrt(n_t) / sum_s sqrt(n_s)            n_t: train examples of task t

On the full train sets (SST 8,544, Quora 18,216, STS 6,040) this gives
0.30, 0.44 and 0.25. Sampling in proportion to n_t would give Quora 0.56 of
the steps and STS 0.18. Uniform sampling would train the small tasks for
several passes while Quora trains on a third of its data. The square root lies
between the two. An epoch has as many steps as one pass over every train set
would take, sum_t ceil(n_t / B), so tasks of equal size get one pass each in
expectation. The task of each step comes from NumPy's PCG64 seeded with
(seed, epoch, 1), and each task's batches from ``bucket_batches`` on its own
train set (a new shuffled pass each time one runs out), so a run repeats
exactly given its seed.

Legend: B batch, T tokens, C hidden size, K classes.

Limitations: one task per step (no gradient mixing inside a batch); the
similarity head is trained with MSE only, not a ranking or correlation loss.
all-MiniLM-L6-v2 was fine-tuned as an embedder of single texts, so the
cross-encoded pair format is new to it.
"""

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from minbert.data.batching import bucket_batches
from minbert.data.multitask_data import MULTITASK_TASKS
from minbert.embeddings.pooling import mean_pool
from minbert.errors import ConfigError, ParameterError
from minbert.metrics.correlation import pearson
from minbert.model.bert import BertModel
from minbert.model.dropout import Dropout
from minbert.optim.adamw import AdamW
from minbert.optim.schedule import linear_warmup_decay
from minbert.training.classifier import POOLINGS, Pooling, cls_pool
from minbert.training.config import FinetuneConfig
from minbert.training.multitask_batches import EncodedTask, collate_examples
from minbert.training.update import apply_update, check_finite_loss

logger = logging.getLogger(__name__)

MAX_SIMILARITY = 5.0
# Separates the task-draw stream from bucket_batches' (seed, epoch) stream.
_TASK_STREAM = 1


@dataclass(frozen=True)
class MultitaskConfig:
    tasks: tuple[str, ...] = ("sst", "quora", "sts")
    pooling: Pooling = "mean"
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1          # fraction of all updates spent warming the lr up linearly
    dropout: float = 0.1               # on the sentence representation, before each head
    max_length: int = 128              # tokens per text or pair, [CLS] and [SEP]s included
    max_grad_norm: float = 1.0         # gradient clipping; 0 turns it off
    seed: int = 11711
    max_train_examples: int | None = None   # per task, drawn once with the seed; None keeps every example

    def __post_init__(self) -> None:
        # The hyper-parameters shared with single-task fine-tuning get the same checks.
        FinetuneConfig(pooling=self.pooling, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                       weight_decay=self.weight_decay, warmup_ratio=self.warmup_ratio, dropout=self.dropout,
                       max_length=self.max_length, max_grad_norm=self.max_grad_norm, seed=self.seed)
        if not self.tasks:
            raise ConfigError("tasks=() is empty (expected at least one of sst, quora, sts)")
        unknown = [name for name in self.tasks if name not in MULTITASK_TASKS]
        if unknown:
            raise ConfigError(f"unknown task {unknown[0]!r} (expected one of {', '.join(MULTITASK_TASKS)})")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ParameterError("max_train_examples", self.max_train_examples, "is invalid (expected 1 or more)")


class MultitaskModel(nn.Module):
    """A shared encoder and pooling, dropout, and one linear head per task."""

    def __init__(self, encoder: BertModel, *, tasks: Sequence[str], pooling: Pooling = "mean",
                 dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r} is not supported; expected one of {POOLINGS}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = Dropout(dropout)
        self.heads = nn.ModuleDict()
        for name in tasks:
            outputs = MULTITASK_TASKS[name].num_labels or 1
            head = nn.Linear(encoder.config.hidden_size, outputs)
            nn.init.normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)
            self.heads[name] = head

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.heads.keys())

    def represent(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  token_type_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, C) representations of the texts or pairs."""
        states = self.encoder.encode_packed(input_ids, attention_mask, token_type_ids)
        if self.pooling == "mean":
            return mean_pool(states)
        return cls_pool(self.encoder, states)

    def forward(self, task: str, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> the head's raw output: (B, K) logits, or (B,) pre-sigmoid scores for sts."""
        output = self.heads[task](self.dropout(self.represent(input_ids, attention_mask, token_type_ids)))
        return output.squeeze(1) if MULTITASK_TASKS[task].num_labels is None else output


def task_loss(task: str, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for a classification task, MSE on the 0..1 scale for similarity."""
    if MULTITASK_TASKS[task].num_labels is None:
        return F.mse_loss(torch.sigmoid(output), targets / MAX_SIMILARITY)
    return F.cross_entropy(output, targets.long())


def task_probabilities(sizes: Mapping[str, int]) -> dict[str, float]:
    """Return p_t = sqrt(n_t) / sum_s sqrt(n_s) for each task, in the order of ``sizes``."""
    roots = {name: math.sqrt(size) for name, size in sizes.items()}
    total = sum(roots.values())
    return {name: root / total for name, root in roots.items()}


def sample_tasks(sizes: Mapping[str, int], *, steps: int, seed: int, epoch: int) -> list[str]:
    """Draw the task of each of ``steps`` steps, i.i.d. from ``task_probabilities(sizes)``."""
    names = list(sizes)
    probabilities = list(task_probabilities(sizes).values())
    generator = np.random.default_rng([seed, epoch, _TASK_STREAM])
    return [names[index] for index in generator.choice(len(names), size=steps, p=probabilities)]


class BatchStream:
    """Endless length-bucketed batches of one task: a new shuffled pass starts when one runs out."""

    def __init__(self, lengths: list[int], *, batch_size: int, seed: int) -> None:
        self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
        self.passes = 0
        self._pending: list[list[int]] = []

    def next(self) -> list[int]:
        if not self._pending:
            self.passes += 1
            self._pending = bucket_batches(self.lengths, batch_size=self.batch_size, shuffle=True,
                                           seed=self.seed, epoch=self.passes)[::-1]
        return self._pending.pop()


@torch.no_grad()
def predict(model: MultitaskModel, task: str, encoded: EncodedTask, *, pad_id: int,
            batch_size: int = 64) -> torch.Tensor:
    """Return predictions in input order: (M, K) logits, or (M,) similarities in 0..5 for sts."""
    was_training = model.training
    model.eval()
    outputs: list[torch.Tensor | None] = [None] * len(encoded)
    for indices in bucket_batches(encoded.lengths, batch_size=batch_size, shuffle=False):
        batch = collate_examples(encoded, indices, pad_id=pad_id)
        output = model(task, batch.input_ids, batch.attention_mask, batch.token_type_ids)
        for position, index in enumerate(indices):
            outputs[index] = output[position]
    model.train(was_training)
    stacked = torch.stack(outputs)
    if MULTITASK_TASKS[task].num_labels is None:
        return MAX_SIMILARITY * torch.sigmoid(stacked)
    return stacked


def dev_metric(model: MultitaskModel, task: str, encoded: EncodedTask, *, pad_id: int) -> float:
    """Dev accuracy of a classification task, or the Pearson correlation of predicted and gold similarity."""
    predictions = predict(model, task, encoded, pad_id=pad_id)
    targets = torch.tensor(encoded.targets)
    if MULTITASK_TASKS[task].num_labels is None:
        return pearson(predictions.numpy(), targets.numpy())
    return (predictions.argmax(dim=1) == targets.long()).float().mean().item()


@dataclass(frozen=True)
class MultitaskEpoch:
    epoch: int
    train_loss: dict[str, float]   # mean loss of each task's batches in this epoch
    steps: dict[str, int]          # batches of each task in this epoch
    dev: dict[str, float]          # accuracy (sst, quora) or Pearson (sts)
    dev_mean: float                # unweighted mean of the dev metrics
    seconds: float
    examples_per_second: float


@dataclass
class MultitaskResult:
    best_epoch: int = 0
    best_dev_mean: float = -math.inf
    history: list[MultitaskEpoch] = field(default_factory=list)


def train_multitask(
    model: MultitaskModel,
    train: Mapping[str, EncodedTask],
    dev: Mapping[str, EncodedTask],
    config: MultitaskConfig,
    *,
    pad_id: int,
    on_epoch_end: Callable[[MultitaskModel, MultitaskEpoch, bool], None] | None = None,
    progress: bool = True,
) -> MultitaskResult:
    """Train ``model`` in place on the tasks of ``config``, scoring every dev set after each epoch.

    ``on_epoch_end(model, record, improved)`` is called after the dev scores;
    ``improved`` is True when the mean dev metric beat every earlier epoch.
    Raises TrainingError when a loss becomes NaN or infinite.
    """
    torch.manual_seed(config.seed)
    sizes = {name: len(train[name]) for name in config.tasks}
    streams = {name: BatchStream(train[name].lengths, batch_size=config.batch_size, seed=config.seed + position)
               for position, name in enumerate(config.tasks)}
    steps_per_epoch = sum(-(-size // config.batch_size) for size in sizes.values())
    total_steps = steps_per_epoch * config.epochs
    optimizer = AdamW(list(model.parameters()), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = linear_warmup_decay(optimizer, warmup_steps=int(config.warmup_ratio * total_steps),
                                    total_steps=total_steps)
    logger.info("multitask training on %s: sizes %s, sampling probabilities %s, %d epochs of %d steps, lr %g",
                ",".join(config.tasks), sizes, task_probabilities(sizes), config.epochs, steps_per_epoch, config.lr)

    result = MultitaskResult()
    for epoch in range(1, config.epochs + 1):
        record = _train_epoch(model, train, streams, config, epoch=epoch, steps=steps_per_epoch, pad_id=pad_id,
                              optimizer=optimizer, scheduler=scheduler, progress=progress)
        dev_scores = {name: dev_metric(model, name, dev[name], pad_id=pad_id) for name in config.tasks}
        record = MultitaskEpoch(dev=dev_scores, dev_mean=sum(dev_scores.values()) / len(dev_scores), **record)
        result.history.append(record)
        logger.info("epoch %d: dev %s, mean %.4f", epoch, dev_scores, record.dev_mean)

        # A NaN mean (a constant STS prediction) never counts as an improvement.
        improved = record.dev_mean > result.best_dev_mean
        if improved:
            result.best_epoch, result.best_dev_mean = epoch, record.dev_mean
        if on_epoch_end is not None:
            on_epoch_end(model, record, improved)
    return result


def _train_epoch(model: MultitaskModel, train: Mapping[str, EncodedTask], streams: dict[str, BatchStream],
                 config: MultitaskConfig, *, epoch: int, steps: int, pad_id: int, optimizer: AdamW,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, progress: bool) -> dict:
    """Run one epoch of sampled steps; return the fields of its record other than the dev scores."""
    model.train()
    schedule = sample_tasks({name: len(train[name]) for name in config.tasks}, steps=steps, seed=config.seed,
                            epoch=epoch)
    loss_sums = {name: 0.0 for name in config.tasks}
    step_counts = {name: 0 for name in config.tasks}
    started, seen = time.perf_counter(), 0
    bar = tqdm(schedule, desc=f"epoch {epoch}/{config.epochs}", unit="step", disable=not progress)
    for step, task in enumerate(bar, start=1):
        batch = collate_examples(train[task], streams[task].next(), pad_id=pad_id)
        output = model(task, batch.input_ids, batch.attention_mask, batch.token_type_ids)
        loss = task_loss(task, output, batch.targets)
        check_finite_loss(loss, name=f"{task} loss", where=f"epoch {epoch}, step {step}", lr=config.lr,
                          saved="checkpoint")
        # The shared encoder and this task's head get gradients; the other heads get none.
        apply_update(loss, optimizer, scheduler, model.parameters(), max_grad_norm=config.max_grad_norm)

        loss_sums[task] += loss.item()
        step_counts[task] += 1
        seen += len(batch.targets)
        bar.set_postfix({name: f"{loss_sums[name] / max(step_counts[name], 1):.3f}" for name in config.tasks})
    seconds = time.perf_counter() - started
    return dict(epoch=epoch, seconds=seconds, examples_per_second=seen / seconds, steps=step_counts,
                train_loss={name: loss_sums[name] / step_counts[name] if step_counts[name] else math.nan
                            for name in config.tasks})
