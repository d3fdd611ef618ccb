"""Atomic file and folder writes: write beside the target, then rename over it.

``os.replace`` is atomic on POSIX and Windows when source and target are on the
same file system. So a reader, or a run interrupted by Ctrl-C, finds either the
old complete file or the new complete file, never a partial one. A folder is
replaced by two renames (see ``atomic_folder``).

These helpers do not decide whether a path may be replaced; ``minbert.outputs``
checks that before any work starts.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minbert.errors import OutputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def writable_target(path: str | Path) -> Path:
    """Return the regular file that writing ``path`` should replace, following symbolic links.

    Raises OutputError when ``path`` exists but is not a regular file, because
    renaming over a device, a pipe or a folder would destroy it.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: cannot write here, it exists and is not a regular file")
    return path


def check_writable(path: str | Path) -> Path:
    """Return ``writable_target(path)`` after checking that its folder can take a new file.

    Raises OutputError naming the path when the nearest existing folder above
    it is not a folder or is not writable, so that a long job can fail before
    it starts rather than when it saves.
    """
    target = writable_target(path)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write here, {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write here, no write permission in {folder}")
    return target


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Missing parent folders are created. On any exception, KeyboardInterrupt
    included, the temporary file is removed and ``path`` keeps its content.
    """
    path = writable_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        temporary.chmod(0o666 & ~_current_umask())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; make it ``path`` if the block succeeds.

    An existing ``path`` is renamed aside, the new folder takes its name, and
    the old one is deleted, so an exception (KeyboardInterrupt included) leaves
    the old folder complete under its name. Only a hard kill between the two
    renames leaves it under ``.NAME.old-*`` beside ``path``. A symbolic link
    to a folder is followed, and the folder it points to is replaced.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.new-"))
    aside = None
    try:
        yield staging
        # mkdtemp makes the folder private (0700); give it the mode a plain mkdir() would.
        staging.chmod(0o777 & ~_current_umask())
        if path.exists():
            # rename(2) replaces only an empty folder, so mkdtemp reserves the aside name.
            aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            path.replace(aside)
        staging.replace(path)
    finally:
        if aside is not None and not path.exists():
            aside.replace(path)
        for leftover in (staging, aside):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover)
