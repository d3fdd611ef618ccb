"""Checks that a command may write its outputs, run before it reads data or loads a model.

Every command that writes follows three rules:

- An empty path is rejected, because ``Path("")`` means the current folder.
- No output, and no file written beside one, may be a file the command reads.
  Paths are compared after following symbolic links, and with
  ``os.path.samefile`` where both exist, so a hard link counts as the same file.
- A folder output may be written into, or replaced whole, only when it is new,
  empty, or contains nothing but the entries minbert writes for that kind of
  output (a *layout* below). Anything else is named in the error, and nothing
  is touched.

The writes themselves are in ``minbert.atomic``.
"""

import errno
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from minbert.errors import ConfigError, OutputError
from minbert.model.pretrained import default_model_dir

# A layout maps each entry name to None for a regular file, or to the layout of a subfolder.
Layout = Mapping[str, "Layout | None"]

# A model folder as written by `finetune`, `finetune --task multitask` (its best/ folder) and `sbert train`,
# plus the files of Hugging Face and sentence-transformers folders that these commands may replace.
MODEL_FOLDER: Layout = {
    "config.json": None,
    "model.safetensors": None,
    "pytorch_model.bin": None,
    "vocab.txt": None,
    "tokenizer_config.json": None,
    "special_tokens_map.json": None,
    "tokenizer.json": None,
    "modules.json": None,
    "sentence_bert_config.json": None,
    "config_sentence_transformers.json": None,
    "metrics.json": None,
    "1_Pooling": {"config.json": None},
    "2_Normalize": {},
}
# The run folder of `finetune --task multitask`: metrics of every epoch and the best checkpoint.
MULTITASK_RUN_FOLDER: Layout = {"metrics.json": None, "best": MODEL_FOLDER}
# The folder of `tokenizer train --kind wordpiece`.
WORDPIECE_FOLDER: Layout = {"vocab.txt": None, "tokenizer_config.json": None}

# A temporary file that minbert.atomic.atomic_path leaves only when the process is killed: .NAME.RANDOM.tmp
_LEFTOVER_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp")
# How many unexpected entries an error names.
_NAMED_ENTRIES = 3


def output_path(value: str, flag: str) -> Path:
    """Return ``value`` as a Path, raising ConfigError naming ``flag`` when it is empty or a symbolic link loop."""
    if not value:
        raise ConfigError(f"{flag} is empty (expected a path)")
    path = Path(value)
    resolve_output(path, flag=flag)
    return path


def resolve_output(path: Path, *, flag: str) -> Path:
    """Return ``path`` with symbolic links followed, raising OutputError for a link loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as error:
        # pathlib raises RuntimeError for a link loop on Python 3.11; an OSError is a loop only with ELOOP.
        if isinstance(error, OSError) and error.errno != errno.ELOOP:
            raise
        raise OutputError(f"{flag} {path}: symbolic link loop (expected a path that resolves)") from None


def is_same_path(first: Path, second: Path) -> bool:
    """Return whether two paths name the same file, through symbolic links or hard links."""
    try:
        if os.path.samefile(first, second):
            return True
    except OSError:
        pass
    try:
        return first.resolve() == second.resolve()
    except (RuntimeError, OSError):
        return False


def model_input(model: str | None) -> tuple[Path, str]:
    """Return the folder of ``--model`` (or of the default model) and a description of it for errors."""
    if model:
        return Path(model), "the --model folder"
    return default_model_dir(), "the default model folder"


def folder_files(folder: Path, role: str) -> list[tuple[Path, str]]:
    """Return each regular file under ``folder`` with a description such as ``config.json of the --model folder``."""
    if not folder.is_dir():
        return []
    return [(path, f"{path.relative_to(folder)} of {role}") for path in sorted(folder.rglob("*")) if path.is_file()]


def check_not_input(output: Path, inputs: Iterable[tuple[Path, str]], *, name: str) -> None:
    """Raise OutputError when ``output`` is one of ``inputs``, given as (path, description) pairs.

    ``name`` names the output in the message, e.g. ``--output out.csv``.
    """
    for path, role in inputs:
        if is_same_path(output, path):
            raise OutputError(f"{name} is {role}, which this command reads; choose another path")


def check_output_folder(folder: Path, layout: Layout, *, flag: str, kind: str,
                        inputs: Iterable[tuple[Path, str]] = (), replaced_whole: bool) -> None:
    """Raise OutputError unless the folder ``folder`` may receive a ``kind`` with the given ``layout``.

    ``inputs`` are the (path, description) pairs of the files and folders the
    command reads: none may be the folder or lie inside it. Set
    ``replaced_whole`` when the folder is written beside ``folder`` and renamed
    onto it, which needs write permission in its parent too.
    """
    real_folder = resolve_output(folder, flag=flag)
    for path, role in inputs:
        real_input = path.resolve()
        if real_input == real_folder:
            raise OutputError(f"{flag} {folder} is {role}, which this command reads; choose another folder")
        if real_input.is_relative_to(real_folder):
            raise OutputError(f"{flag} {folder} contains {role} ({path}), which this command reads; "
                              "choose another folder")
        # A model's subfolders (1_Pooling/, 2_Normalize/) have names that minbert writes, so only this rule
        # keeps an output out of them. Outputs inside a plain data folder stay allowed.
        if (real_input / "config.json").is_file() and real_folder.is_relative_to(real_input):
            raise OutputError(f"{flag} {folder} is inside {role} ({path}), which this command reads; "
                              "choose a folder outside it")
    if replaced_whole and Path.cwd().resolve().is_relative_to(real_folder):
        raise OutputError(f"{flag} {folder} is or contains the current folder, which cannot be replaced; "
                          "choose another folder")

    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{flag} {folder}: exists and is not a folder (expected a {kind})")
        unexpected = unexpected_entries(folder, layout)
        if unexpected:
            named = ", ".join(unexpected[:_NAMED_ENTRIES])
            if len(unexpected) > _NAMED_ENTRIES:
                named += f" and {len(unexpected) - _NAMED_ENTRIES} more"
            raise OutputError(f"{flag} {folder}: the folder contains {named}, which minbert does not write "
                              f"in a {kind}; choose a new or empty folder")
        _check_writable_folder(real_folder, flag=flag, output=folder)
    if replaced_whole or not folder.exists():
        _check_writable_folder(_nearest_existing(real_folder.parent), flag=flag, output=folder)


def unexpected_entries(folder: Path, layout: Layout) -> list[str]:
    """Return the entries of ``folder`` (and of its subfolders in ``layout``) that ``layout`` lacks, sorted.

    A file in the layout must be a regular file and a subfolder a folder, not
    a symbolic link, because writing into the folder would follow the link.
    Temporary files that an interrupted atomic write left behind are allowed.
    """
    unexpected = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        leftover = _LEFTOVER_TEMPORARY.fullmatch(name)
        if leftover and layout.get(leftover["name"], {}) is None and entry.is_file() and not entry.is_symlink():
            continue
        if name not in layout or entry.is_symlink():
            unexpected.append(name)
            continue
        sublayout = layout[name]
        if sublayout is None:
            if not entry.is_file():
                unexpected.append(name)
        elif not entry.is_dir():
            unexpected.append(name)
        else:
            unexpected += [f"{name}/{inner}" for inner in unexpected_entries(entry, sublayout)]
    return unexpected


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_folder(folder: Path, *, flag: str, output: Path) -> None:
    if not folder.is_dir():
        raise OutputError(f"{flag} {output}: cannot write here, {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {output}: cannot write here, no write permission in {folder}")
