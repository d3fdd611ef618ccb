"""The three datasets of the multitask model, read into one example type.

    sst    ids-sst-train.csv, ids-sst-dev.csv   sentence               -> sentiment 0..4 (5 classes)
    quora  quora-dev.csv, split 90/10 by id     sentence1, sentence2   -> is_duplicate 0 or 1
    sts    sts-train.csv, sts-dev.csv           sentence1, sentence2   -> similarity 0.0..5.0

The shared data has no Quora train file, so both Quora sides come from
quora-dev.csv through ``split_by_id``: a row is on the dev side when
``int(sha256(id)[:8], 16) / 2^32 < 0.1``, else on the train side. The file has
two rows with an empty ``is_duplicate``; they are skipped (and logged).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from minbert.data.pairs import STS_SCORE_RANGE, read_scored_pairs
from minbert.data.readers import read_labelled
from minbert.data.splits import QUORA_DEV_FRACTION, split_by_id
from minbert.errors import ConfigError, DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MultitaskSpec:
    """A task of the multitask model: how it is scored and how many outputs its head has."""

    name: str
    num_labels: int | None  # classes of a classification task; None for a regression task
    metric: str             # dev metric: "accuracy" or "pearson"
    pair: bool              # True when an example is a pair of texts


MULTITASK_TASKS: dict[str, MultitaskSpec] = {
    "sst": MultitaskSpec(name="sst", num_labels=5, metric="accuracy", pair=False),
    "quora": MultitaskSpec(name="quora", num_labels=2, metric="accuracy", pair=True),
    "sts": MultitaskSpec(name="sts", num_labels=None, metric="pearson", pair=True),
}


@dataclass(frozen=True)
class TaskExample:
    """One text, or a pair of texts, and its target: a class index, or a score for a regression task."""

    first: str
    second: str | None
    target: float


@dataclass(frozen=True)
class TaskData:
    name: str
    train: list[TaskExample]
    dev: list[TaskExample]


def parse_task_names(text: str) -> tuple[str, ...]:
    """Parse a comma-separated task list such as ``"sst,sts"``, keeping its order.

    Raises ConfigError for an unknown or repeated name and for an empty list.
    """
    names = tuple(name.strip() for name in text.split(","))
    known = ", ".join(MULTITASK_TASKS)
    if not text.strip() or not all(names):
        raise ConfigError(f"--tasks {text!r} has an empty task name (expected a comma-separated list of {known})")
    for name in names:
        if name not in MULTITASK_TASKS:
            raise ConfigError(f"--tasks: unknown task {name!r} (expected a comma-separated list of {known})")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"--tasks: task {repeated[0]!r} is listed twice (expected each task at most once)")
    return names


def load_task(name: str, data_dir: Path) -> TaskData:
    """Read the train and dev examples of one task from ``data_dir``.

    Raises ConfigError for an unknown task and DataError for a missing or malformed file.
    """
    if name == "sst":
        return TaskData(name, train=_read_sst(data_dir / "ids-sst-train.csv"),
                        dev=_read_sst(data_dir / "ids-sst-dev.csv"))
    if name == "quora":
        return _read_quora(data_dir / "quora-dev.csv")
    if name == "sts":
        return TaskData(name, train=_read_sts(data_dir / "sts-train.csv"), dev=_read_sts(data_dir / "sts-dev.csv"))
    raise ConfigError(f"unknown task {name!r} (expected one of {', '.join(MULTITASK_TASKS)})")


def _read_sst(path: Path) -> list[TaskExample]:
    rows = read_labelled(path, text_column="sentence", label_column="sentiment", num_labels=5)
    return [TaskExample(first=row.text, second=None, target=float(row.label)) for row in rows]


def _read_quora(path: Path) -> TaskData:
    pairs = read_scored_pairs(path, score_column="is_duplicate", id_column="id", skip_missing_scores=True)
    for pair in pairs:
        if pair.score not in (0.0, 1.0):
            raise DataError(f"{path}:{pair.line}: is_duplicate {pair.score:g} is invalid (expected 0 or 1)")
    train, dev = split_by_id(pairs, lambda pair: pair.id, dev_fraction=QUORA_DEV_FRACTION)
    logger.info("%s: %d train and %d dev pairs after the split by id hash", path, len(train), len(dev))

    def examples(side: list) -> list[TaskExample]:
        return [TaskExample(first=pair.first, second=pair.second, target=pair.score) for pair in side]

    return TaskData("quora", train=examples(train), dev=examples(dev))


def _read_sts(path: Path) -> list[TaskExample]:
    pairs = read_scored_pairs(path, score_column="similarity", score_range=STS_SCORE_RANGE)
    return [TaskExample(first=pair.first, second=pair.second, target=pair.score) for pair in pairs]
