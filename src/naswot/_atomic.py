"""Output paths: checked before any work, written atomically (a temporary file, then rename).

A killed or failed command never leaves a half-written file under the name it was asked for.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from naswot.exceptions import NaswotError

__all__ = [
    "atomic_open",
    "atomic_path",
    "atomic_write_text",
    "check_output_dir",
    "check_output_file",
]


def check_output_file(path: Path, what: str = "output") -> Path:
    """Raises NaswotError unless ``path`` can be written: not a folder, its folder writable.

    A missing parent folder is created (as the writers would), so the check is the real one.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise NaswotError(f"The {what} path {path} is a folder; give a file name.")
    _check_dir_writable(path.parent, what)
    return path


def check_output_dir(path: Path, what: str = "output") -> Path:
    """Creates folder ``path`` if needed; raises NaswotError if it is a file or not writable."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise NaswotError(f"The {what} folder {path} is a file; give a folder.")
    _check_dir_writable(path, what)
    return path


def _check_dir_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".naswot-check-"):
            pass
    except OSError as e:
        raise NaswotError(f"Cannot write the {what} in {folder}: {e.strerror or e}.") from None


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed onto ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the real suffix last: torch.export.save wants a name ending in .pt2
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_open(path: Path, writer: Callable[[IO[str]], None]) -> None:
    """Calls ``writer`` with a text file that replaces ``path`` atomically when it returns."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer(f)
