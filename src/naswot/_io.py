"""Files in and out: one text reader, one CSV reader, one atomic writer, one output-path check.

Everything naswot reads as text goes through :func:`decode_text` (UTF-8 with or without the
byte-order mark that spreadsheets write, CRLF or CR line ends), CSVs through :func:`read_csv`
(header names and cells stripped of surrounding whitespace), and everything it writes goes
through :func:`atomic_path` (a temporary file in the destination folder, renamed over the
destination when complete, so a failure never leaves a partial file). Commands call
:func:`check_output` on every path they will write *before* any work, so a bad ``--out`` costs
nothing; it also refuses an output that is one of the command's inputs or its store.
Messages quote user input through :func:`quote`, which keeps at most ~200 characters.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from naswot.exceptions import BenchmarkError, InvalidParameterError, NaswotError

__all__ = [
    "QUOTE_LIMIT",
    "atomic_path",
    "atomic_write",
    "atomic_write_text",
    "check_output",
    "check_output_dir",
    "decode_text",
    "quote",
    "read_csv",
    "same_file",
    "shorten",
    "store_files",
]

QUOTE_LIMIT = 200
"""The most characters of user input that an error message quotes."""

STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")
"""The files of an SQLite store: the database and the files SQLite keeps beside it."""


def shorten(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``str(text)``, cut to ``limit`` characters with the full length said.

    >>> shorten("x" * 1000, limit=5)
    'xxxxx... (1000 characters)'
    """
    s = text if isinstance(text, str) else str(text)
    return s if len(s) <= limit else f"{s[:limit]}... ({len(s)} characters)"


def quote(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(text)``, cut to about ``limit`` characters with the full length said.

    >>> quote("abc")
    "'abc'"
    >>> quote("x" * 1000, limit=5)
    "'xxxxx'... (1000 characters)"
    """
    if not isinstance(text, str):  # numbers and other objects: their repr, shortened
        return shorten(repr(text), limit)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def decode_text(raw: bytes) -> str:
    """``raw`` as UTF-8 text without a byte-order mark, with newline line ends.

    Raises:
        UnicodeDecodeError: if ``raw`` is not UTF-8.
    """
    text = raw.decode("utf-8-sig")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_csv(text: str, source: object) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their line numbers) of CSV ``text``.

    Header names and cells are stripped of surrounding whitespace; blank lines are skipped; a
    missing trailing cell reads as empty. ``source`` names the file in messages.

    Raises:
        BenchmarkError: if a header name is repeated, or a row holds more (non-blank) cells than
            the header has names.
        csv.Error: if the text is not CSV.
    """
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if header is None:
            header = cells
            repeated = sorted({c for c in header if header.count(c) > 1})
            if repeated:
                raise BenchmarkError(
                    f"{source}: the header names the column(s) {', '.join(map(quote, repeated))} "
                    "more than once."
                )
            continue
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise BenchmarkError(
                f"{source}:{reader.line_num}: {len(cells)} cells, but the header names "
                f"{len(header)} columns."
            )
        rows.append((reader.line_num, dict(zip(header, cells + [""] * len(header), strict=False))))
    return header or [], rows


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through symlinks, ``..``, hard links)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def store_files(store: Path) -> list[Path]:
    """The store file and the files SQLite writes beside it (``-wal``, ``-shm``, ``-journal``)."""
    return [store.with_name(store.name + s) for s in STORE_SUFFIXES]


def check_output(
    path: Path,
    option: str,
    *,
    inputs: Iterable[Path | None] = (),
    store: Path | None = None,
) -> Path:
    """Refuses, before any work, an output path that cannot be written or would destroy data.

    Args:
        path: the file a command will write (replaced if it exists).
        option: its name in messages, e.g. ``--out``.
        inputs: files the command reads; the output must not be one of them.
        store: the result store the command writes; the output must not be it or its files.

    Returns:
        ``path``.

    Raises:
        InvalidParameterError: if ``path`` is a folder, its folder does not exist or is not
            writable, it exists and is not writable, or it names an input or the store.
    """
    if store is not None:
        for f in store_files(store):
            if same_file(path, f):
                raise InvalidParameterError(
                    f"{option} {path} is the result store {store}"
                    + ("" if f == store else f" (its {f.name[len(store.name) :]} file)")
                    + "; writing it would destroy the stored results. Choose another file."
                )
    for given in inputs:
        if given is not None and same_file(path, given):
            raise InvalidParameterError(
                f"{option} {path} is also an input of this command ({given}); writing it would "
                "replace what is being read. Choose another file."
            )
    if path.is_dir():
        raise InvalidParameterError(f"{option} {path} is a folder; give a file name in it.")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidParameterError(
            f"{option} {path}: the folder {folder} does not exist; create it first."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"{option} {path}: the folder {folder} is not writable.")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidParameterError(f"{option} {path} exists and is not writable.")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(dst: Path) -> Iterator[Path]:
    """A temporary path beside ``dst`` (same suffix) to write; renamed over ``dst`` on success.

    On an exception the temporary file is removed and ``dst`` is left as it was.

    Raises:
        NaswotError: if the temporary file cannot be created or renamed.
    """
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{dst.name}.", suffix=f".tmp{dst.suffix}", dir=dst.parent
        )
    except OSError as e:
        raise NaswotError(f"Cannot write {dst}: {e.strerror or e}.") from None
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    try:
        yield tmp
        try:
            os.replace(tmp, dst)
        except OSError as e:
            raise NaswotError(f"Cannot write {dst}: {e.strerror or e}.") from None
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(dst: Path) -> Iterator[TextIO]:
    """A text file (UTF-8, ``newline=""`` for csv) that replaces ``dst`` only once complete."""
    with atomic_path(dst) as tmp:
        try:
            with tmp.open("w", encoding="utf-8", newline="") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise NaswotError(f"Cannot write {dst}: {e.strerror or e}.") from None


def atomic_write_text(dst: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``dst`` atomically (see :func:`atomic_write`)."""
    with atomic_write(dst) as f:
        f.write(text)


def check_output_dir(path: Path, option: str) -> Path:
    """Creates the output folder ``path`` if needed and checks that files can be made in it.

    Raises:
        InvalidParameterError: if ``path`` is a file, or the folder cannot be made or written.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(f"{option} {path} is a file; give a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".naswot-check-"):
            pass
    except OSError as e:
        raise InvalidParameterError(
            f"{option} {path}: cannot write in this folder ({e.strerror or e})."
        ) from None
    return path
