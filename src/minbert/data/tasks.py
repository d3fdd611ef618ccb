"""The named classification tasks and where their data files are found.

Each task is one labelled text column plus a class column in the tab-separated
``.csv`` layout of the CS 224N minBERT project. The data folder comes from the
caller (the CLI's ``--data-dir``), else from the ``MINBERT_DATA`` environment variable.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from minbert.errors import ConfigError, DataError

DATA_DIR_VARIABLE = "MINBERT_DATA"


@dataclass(frozen=True)
class TaskSpec:
    """A single-sentence classification task: its files, columns and class names."""

    name: str
    train_file: str  # file name inside the data folder
    dev_file: str
    text_column: str
    label_column: str
    num_labels: int
    label_names: tuple[str, ...]  # label_names[i] names class index i

    def __post_init__(self) -> None:
        if len(self.label_names) != self.num_labels:
            raise ConfigError(
                f"task {self.name!r}: {len(self.label_names)} label names for num_labels={self.num_labels} "
                "(expected one name per class)"
            )


TASKS: dict[str, TaskSpec] = {
    "sst": TaskSpec(
        name="sst",
        train_file="ids-sst-train.csv",
        dev_file="ids-sst-dev.csv",
        text_column="sentence",
        label_column="sentiment",
        num_labels=5,
        label_names=("very negative", "negative", "neutral", "positive", "very positive"),
    ),
    "cfimdb": TaskSpec(
        name="cfimdb",
        train_file="ids-cfimdb-train.csv",
        dev_file="ids-cfimdb-dev.csv",
        text_column="sentence",
        label_column="sentiment",
        num_labels=2,
        label_names=("negative", "positive"),
    ),
}


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """Return the data folder: ``data_dir`` if given, else ``$MINBERT_DATA``.

    An empty string counts as not given. Raises DataError when neither is set, or
    when the chosen path is not an existing folder.
    """
    if data_dir:
        folder, source = Path(data_dir).expanduser(), "--data-dir"
    elif os.environ.get(DATA_DIR_VARIABLE):
        folder, source = Path(os.environ[DATA_DIR_VARIABLE]).expanduser(), DATA_DIR_VARIABLE
    else:
        raise DataError(f"no data folder: pass --data-dir DIR or set {DATA_DIR_VARIABLE}")

    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found (set by {source}, expected an existing folder)")
    return folder


def task_files(task: str, data_dir: Path) -> tuple[Path, Path]:
    """Return the ``(train, dev)`` file paths of a named task inside ``data_dir``.

    Raises ConfigError for an unknown task name and DataError for a missing file.
    """
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r} (expected one of: {', '.join(sorted(TASKS))})")
    spec = TASKS[task]

    paths = (Path(data_dir) / spec.train_file, Path(data_dir) / spec.dev_file)
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: file not found (expected the {task!r} data file in {data_dir})")
    return paths
