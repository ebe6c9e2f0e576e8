"""A damaged, full or unwritable store is one ``StoreError`` line that names the file and says
what to do; never a traceback, never "not a naswot store" for a store that is one."""

import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from naswot.cli import main
from naswot.exceptions import StoreError
from naswot.store import ResultStore, ScoreKey

SCORE = ["score", "--sample", "3", "--dataset", "noise", "--batch-size", "8", "--quiet"]


def key(i: int) -> ScoreKey:
    arch = f"arch-{i:05d}-" + "x" * 60
    return ScoreKey("nb201", arch, "naswot", "default", "noise", "abc", 8, 1, 1, "fast", "")


def filled_store(path: Path, n: int = 400) -> None:
    with ResultStore(path) as store:
        for i in range(n):
            store.put(key(i), score=float(i), status="ok", error="e" * 50)


def one_error_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("naswot: error: "), err
    return lines[0]


def assert_damaged(message: str, path: Path) -> None:
    assert f"The store {path} is damaged" in message
    assert "PRAGMA integrity_check" in message
    assert "move it aside with its -wal and -shm files" in message
    assert "\n" not in message


def test_random_bytes_in_a_data_page(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    filled_store(path)
    with path.open("r+b") as f:  # page 10 of 40: a page of the scores table or its index
        f.seek(4096 * 9)
        f.write(random.Random(0).randbytes(4096))
    errors: list[StoreError] = []
    for use in (
        lambda s: [s.get(key(i)) for i in range(400)],
        lambda s: list(s.rows()),
        lambda s: [s.put(key(i), score=1.0, status="ok") for i in range(400, 800)],
        len,
    ):
        try:
            with ResultStore(path) as store:
                use(store)
        except StoreError as e:  # anything else fails the test
            errors.append(e)
    assert errors
    for e in errors:
        assert_damaged(str(e), path)


def test_a_meta_value_that_is_not_a_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.sqlite"
    ResultStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'three' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="its schema_version is 'three', not a number") as e:
        ResultStore(path)
    assert_damaged(str(e.value), path)
    line = one_error_line(capsys, *SCORE, "--store", str(path))
    assert "is damaged" in line


def test_a_score_stored_as_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    assert main([*SCORE, "--store", str(path)]) == 0
    capsys.readouterr()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE scores SET score = 'high'")
    line = one_error_line(capsys, *SCORE, "--store", str(path))
    assert "holds the score 'high', which is not a number" in line
    assert_damaged(line.removeprefix("naswot: error: "), path)


def test_a_full_disk_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL once it must grow
        with pytest.raises(StoreError) as e:
            _ = [store.put(key(i), score=1.0, status="ok") for i in range(1000)]
    assert str(e.value).startswith(f"Cannot write to the store {path}: the disk is full")
    assert "run the same command again" in str(e.value)
    with ResultStore(path) as store:  # the rows written before are kept
        assert 0 < len(store) < 1000


def test_a_full_disk_when_creating_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect = sqlite3.connect

    def one_page_disk(*args: object, **kwargs: object) -> sqlite3.Connection:
        db = connect(*args, **kwargs)  # type: ignore[arg-type]
        db.execute("PRAGMA max_page_count = 1")  # a new store needs more: SQLITE_FULL
        return db

    monkeypatch.setattr(sqlite3, "connect", one_page_disk)
    path = tmp_path / "new.sqlite"
    line = one_error_line(capsys, *SCORE, "--store", str(path))
    assert line.startswith(f"naswot: error: Cannot open the store {path}: the disk is full")
    assert "not a naswot store" not in line


@pytest.mark.parametrize("depth", [1, 2])
def test_a_store_whose_folder_is_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int
) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder\n")
    path = blocker.joinpath(*["sub"] * (depth - 1), "s.sqlite")
    line = one_error_line(capsys, *SCORE, "--store", str(path))
    assert line == (
        f"naswot: error: Cannot create the store {path}: {blocker} is a file, not a folder; "
        "pass --store with a path in a writable folder."
    )


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Makes ``folder`` read-only, for root too (``chattr +i``); skips where neither works."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a folder read-only as root here: {done.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("exists", [False, True])
def test_a_store_in_a_read_only_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, exists: bool
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "s.sqlite"
    if exists:
        filled_store(path, 3)
    with read_only(folder):
        line = one_error_line(capsys, *SCORE, "--store", str(path))
    assert line.startswith(
        f"naswot: error: Cannot open the store {path}: the folder {folder} is read-only"
    )
    assert "not a naswot store" not in line
