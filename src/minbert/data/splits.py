"""A deterministic train/dev split by hashing each row's id.

    dev  <=>  int(sha256(id)[:8], 16) / 2^32 < dev_fraction

The shared data has no Quora training file, so quora-dev.csv is split 90/10
this way. A row's side depends only on its id, not on the file order or on
the other rows, so the split is the same on every machine and in every run.
"""

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

Row = TypeVar("Row")

QUORA_DEV_FRACTION = 0.1


def is_dev_id(row_id: str, *, dev_fraction: float = QUORA_DEV_FRACTION) -> bool:
    """Return whether the row with this id belongs to the dev side."""
    digest = hashlib.sha256(row_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 2**32 < dev_fraction


def split_by_id(rows: Sequence[Row], id_of: Callable[[Row], str], *,
                dev_fraction: float = QUORA_DEV_FRACTION) -> tuple[list[Row], list[Row]]:
    """Return (train, dev) rows, each in file order."""
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction={dev_fraction} is invalid (expected a number between 0 and 1)")
    train, dev = [], []
    for row in rows:
        (dev if is_dev_id(id_of(row), dev_fraction=dev_fraction) else train).append(row)
    return train, dev
