"""Data-parallel fine-tuning across processes started by torchrun.

``torchrun --nproc_per_node W -m minbert finetune ...`` starts W processes
(ranks) and sets RANK and WORLD_SIZE, which this module reads, and
MASTER_ADDR and MASTER_PORT, which ``torch.distributed`` reads to connect
them. Every rank builds the same batch order from the same seed, so the
global batches agree. Rank r computes the loss on its own slice of each global
batch, and ``DistributedDataParallel`` averages the gradients over the ranks
in its backward pass.

For a global batch of n texts with per-text losses l_i, rank r computes a slice
S_r of n_r texts and back-propagates its slice mean scaled by W n_r / n:

    loss_r = (W n_r / n) * mean_{i in S_r} l_i = (W / n) * sum_{i in S_r} l_i
    (1 / W) * sum_r grad loss_r = grad (1 / n) * sum_i l_i

so the averaged gradient is the gradient of the global batch mean, the one a
single process computes. The scale is exactly 1.0 when the slices are equal,
and it also covers the shorter batches that ``bucket_batches`` leaves at the
end of each chunk. A batch of fewer than W texts leaves some ranks with an
empty slice. Such a rank still has to join the gradient all-reduce, so it runs
the first text of the batch with scale 0, which adds zero to the average.

``--batch-size`` stays the global batch size and must be divisible by W.

Only rank 0 scores dev, prints and writes the checkpoint. It broadcasts the
dev accuracy, so every rank returns the same history, and the other ranks
wait at a barrier until the checkpoint is written.

``--mode last-linear-layer`` is rejected: it trains one linear layer on
representations computed once, in seconds, so it has nothing to gain from
more processes.

Dropout: every rank seeds its dropout masks with ``seed + rank``. Ranks thus
draw different masks from one another, and a distributed run with dropout on
repeats itself for a fixed W but does not match a single-process run, whose
masks come from one stream over the whole batch. With every dropout
probability at 0 it matches the single-process run to rounding.

Failures: a rank that raises exits, and torchrun then stops the other ranks,
which may be waiting in an all-reduce or at the barrier. A rank that
hangs without exiting blocks the others until the process group timeout
(``DEFAULT_TIMEOUT``) ends their wait with an error.

Limitations: ``finetune`` trains on the CPU, so the backend is gloo. The
backend follows the device (nccl for CUDA), but no caller passes a CUDA
device yet. Every rank reads and tokenises the whole train and dev files.
"""

import datetime
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from minbert.errors import ConfigError
from minbert.training.config import FinetuneConfig

# How long a rank waits in a collective (all-reduce, broadcast) before it fails.
# Rank 0 scores dev and writes the checkpoint while the others wait, so this
# must exceed one dev evaluation plus one save. NOTE: 30 minutes is torch 2.13's
# default_pg_timeout; it is not measured against large dev sets.
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a torchrun job."""

    rank: int         # 0 .. world_size - 1, over all machines
    world_size: int   # number of processes

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints, scores dev and saves."""
        return self.rank == 0


@dataclass(frozen=True)
class Shard:
    """One rank's slice of a global batch and the factor for its mean loss."""

    indices: list[int]   # never empty: an empty slice becomes the batch's first text with loss_scale 0
    loss_scale: float    # W * n_r / n, see the module docstring


def context_from_env(environ: Mapping[str, str]) -> DistributedContext | None:
    """Read RANK and WORLD_SIZE, which torchrun sets, or return None when neither is set.

    Raises ConfigError when only one of RANK and WORLD_SIZE is set, or a value is not a valid rank.
    """
    if "RANK" not in environ and "WORLD_SIZE" not in environ:
        return None
    for name, other in (("RANK", "WORLD_SIZE"), ("WORLD_SIZE", "RANK")):
        if name not in environ:
            raise ConfigError(f"{name} is not set but {other} is; start distributed runs with torchrun")

    values = {}
    for name in ("RANK", "WORLD_SIZE"):
        try:
            values[name] = int(environ[name])
        except ValueError:
            raise ConfigError(f"{name}={environ[name]!r} is not an integer; start distributed runs with torchrun") \
                from None
    rank, world_size = values["RANK"], values["WORLD_SIZE"]
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"RANK={rank}, WORLD_SIZE={world_size} are invalid: expected 0 <= RANK < WORLD_SIZE")
    return DistributedContext(rank=rank, world_size=world_size)


def check_config(config: FinetuneConfig, context: DistributedContext) -> None:
    """Raise ConfigError for settings the distributed loop does not support."""
    if config.batch_size % context.world_size:
        raise ConfigError(f"--batch-size {config.batch_size} is not divisible by the {context.world_size} "
                          "processes; it is the global batch size, so choose a multiple of --nproc_per_node")
    if config.mode == "last-linear-layer":
        raise ConfigError("--mode last-linear-layer does not run under torchrun: it trains one linear layer "
                          "in seconds; run it as a single process")


def backend_for(device: torch.device) -> str:
    """Return the collective backend for tensors on ``device``: nccl for CUDA, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextmanager
def process_group(context: DistributedContext | None, *, device: torch.device,
                  timeout: datetime.timedelta = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Join the default process group for the body and leave it afterwards, or do nothing for ``context=None``.

    The rendezvous address comes from MASTER_ADDR and MASTER_PORT, which torchrun sets.
    """
    if context is None:
        yield
        return
    dist.init_process_group(backend_for(device), rank=context.rank, world_size=context.world_size,
                            timeout=timeout)
    try:
        yield
    finally:
        dist.destroy_process_group()


def shard_batch(indices: Sequence[int], context: DistributedContext | None) -> Shard:
    """Return this rank's contiguous slice of a global batch, sizes differing by at most one.

    Rank r of W gets n // W texts, plus one when r < n % W. Without a context the slice is the whole batch.
    """
    if context is None:
        return Shard(indices=list(indices), loss_scale=1.0)
    base, extra = divmod(len(indices), context.world_size)
    start = context.rank * base + min(context.rank, extra)
    size = base + (1 if context.rank < extra else 0)
    if size == 0:
        return Shard(indices=list(indices[:1]), loss_scale=0.0)
    return Shard(indices=list(indices[start:start + size]),
                 loss_scale=context.world_size * size / len(indices))


def wrap_model(model: nn.Module, context: DistributedContext | None, *,
               find_unused_parameters: bool) -> nn.Module:
    """Wrap ``model`` in DistributedDataParallel, which averages gradients in backward, or return it without a context.

    ``find_unused_parameters`` must be True when the forward pass leaves trainable parameters
    unused (the pooler under mean pooling), or backward waits for their gradients forever.
    """
    if context is None:
        return model
    return DistributedDataParallel(model, find_unused_parameters=find_unused_parameters)


def average_across_ranks(value: torch.Tensor, context: DistributedContext | None) -> torch.Tensor:
    """Return the mean of ``value`` over all ranks on every rank, or ``value`` itself without a context."""
    if context is None:
        return value
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / context.world_size


def broadcast_from_main(value: float, context: DistributedContext | None) -> float:
    """Return rank 0's ``value`` on every rank; the other ranks wait here until rank 0 sends it."""
    if context is None:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(tensor, src=0)
    return tensor.item()


def wait_for_all(context: DistributedContext | None) -> None:
    """Block until every rank gets here. Without a context, return at once."""
    if context is not None:
        dist.barrier()
