"""Length-bucketed batching: batches of examples with similar lengths, so padding stays small.

Training order (``shuffle=True``): permute all indices at random, cut the permutation
into chunks of ``BATCHES_PER_CHUNK * batch_size`` indices, sort each chunk by length,
cut each chunk into batches, and shuffle the order of the batches. Lengths inside a
batch are close, yet batch membership changes every epoch. The generator is seeded
with ``(seed, epoch)``, so one run repeats exactly while its epochs differ.

Evaluation order (``shuffle=False``): a stable sort of all indices by length, cut
into batches. The caller uses the returned indices to put predictions back in file order.

This is the mega-batch scheme of ``get_length_grouped_indices`` in transformers
``trainer_pt_utils.py``, with the batch order shuffled as well.

Limitations: batches have a fixed number of examples, not a token budget, so a batch
of long texts costs more memory than a batch of short ones.
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from minbert.errors import ConfigError

# More batches per chunk give closer lengths inside a batch, and fewer keep more of the
# random order across the data. NOTE: 50 is not tuned on these tasks.
BATCHES_PER_CHUNK = 50


def bucket_batches(
    lengths: Sequence[int], *, batch_size: int, shuffle: bool, seed: int | None = None, epoch: int = 0
) -> list[list[int]]:
    """Group the indices ``0 .. len(lengths) - 1`` into batches of similar length.

    Every index appears in exactly one batch. Each batch has ``batch_size`` indices,
    except the last batch of a chunk (when shuffling) or of the whole list (when not),
    which may be shorter. ``seed`` and ``epoch`` are used only when ``shuffle`` is true,
    and then ``seed`` is required.

    Raises ConfigError for ``batch_size`` below 1, a missing or negative seed when
    shuffling, or a negative epoch.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} is invalid (expected 1 or more)")
    length_array = np.asarray(lengths, dtype=np.int64)  # (N,)

    if not shuffle:
        return _cut_into_batches(np.argsort(length_array, kind="stable"), batch_size)

    if seed is None or seed < 0:
        raise ConfigError(f"seed={seed} is invalid for shuffle=True (expected an integer 0 or more, so runs repeat)")
    if epoch < 0:
        raise ConfigError(f"epoch={epoch} is invalid (expected 0 or more)")
    generator = np.random.default_rng([seed, epoch])

    # Sort random chunks by length. The stable sort keeps equal lengths in random order.
    permutation = generator.permutation(len(length_array))
    chunk_size = BATCHES_PER_CHUNK * batch_size
    batches = []
    for start in range(0, len(permutation), chunk_size):
        chunk = permutation[start : start + chunk_size]
        chunk = chunk[np.argsort(length_array[chunk], kind="stable")]
        batches.extend(_cut_into_batches(chunk, batch_size))

    # Without this shuffle, each chunk would run from its shortest batch to its longest.
    batch_order = generator.permutation(len(batches))
    return [batches[position] for position in batch_order]


def _cut_into_batches(indices: np.ndarray, batch_size: int) -> list[list[int]]:
    return [indices[start : start + batch_size].tolist() for start in range(0, len(indices), batch_size)]


def pad_rows(rows: Sequence[Sequence[int]], *, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad integer rows to the longest; return the (B, T) padded rows and the mask of real positions."""
    width = max(len(row) for row in rows)
    padded = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for position, row in enumerate(rows):
        padded[position, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[position, :len(row)] = 1
    return padded, mask


@torch.no_grad()
def apply_in_batches(forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ids: Sequence[Sequence[int]],
                     *, width: int, batch_size: int, pad_id: int, progress: bool = False,
                     description: str = "") -> torch.Tensor:
    """Run ``forward(input_ids, attention_mask) -> (B, width)`` over length-sorted batches of the id rows.

    Returns the (M, width) float32 rows in input order, without gradients.
    """
    rows = torch.empty(len(ids), width)
    # Longest batches first: later, shorter ones reuse the memory freed by earlier ones, which in
    # ascending order grew the peak resident set of one embedding run from about 0.2 to 0.7 GiB.
    batches = bucket_batches([len(row) for row in ids], batch_size=batch_size, shuffle=False)[::-1]
    for indices in tqdm(batches, desc=description, unit="batch", disable=not progress, leave=False):
        input_ids, attention_mask = pad_rows([ids[index] for index in indices], pad_id=pad_id)
        rows[torch.tensor(indices)] = forward(input_ids, attention_mask).float()
    return rows
