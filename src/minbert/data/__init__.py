"""Data layer: file readers, the named tasks and their files, and length-bucketed batching."""

from minbert.data.batching import bucket_batches
from minbert.data.readers import LabelledText, read_labelled, read_table
from minbert.data.tasks import TASKS, TaskSpec, resolve_data_dir, task_files

__all__ = [
    "TASKS",
    "LabelledText",
    "TaskSpec",
    "bucket_batches",
    "read_labelled",
    "read_table",
    "resolve_data_dir",
    "task_files",
]
