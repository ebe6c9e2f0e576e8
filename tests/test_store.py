import math
import sqlite3
from pathlib import Path

import pytest

from naswot.exceptions import StoreError
from naswot.store import ResultStore, ScoreKey, default_store_path

KEY = ScoreKey(
    "nb201",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "naswot",
    "default",
    "cifar10",
    "abc",
    20,
    1,
    1,
    "fast",
    "",
)
OLD_KEY = KEY.values()[:8]  # the key of schema 1 and 2 stores
# The tables of schema 2 (naswot 0.1), as written then; schema 1 lacked the engine column and
# the degenerate statuses.
SCHEMA_2 = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scores (
    space TEXT NOT NULL, arch TEXT NOT NULL, proxy TEXT NOT NULL, variant TEXT NOT NULL,
    dataset TEXT NOT NULL, batch_fingerprint TEXT NOT NULL, batch_size INTEGER NOT NULL,
    seed INTEGER NOT NULL, score REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'singular', 'error', 'constant', 'no_relu',
        'overflow')),
    error TEXT, seconds REAL, n_units INTEGER, batch_source TEXT, device TEXT, engine TEXT,
    naswot_version TEXT, torch_version TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY (space, arch, proxy, variant, dataset, batch_fingerprint, batch_size, seed)
);
"""
SCHEMA_1 = SCHEMA_2.replace(", 'constant', 'no_relu',\n        'overflow'", "").replace(
    " device TEXT, engine TEXT,", " device TEXT,"
)


def test_round_trip_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        store.put(KEY, score=1234.5, status="ok", seconds=0.1, n_units=10, device="cpu")
        assert len(store) == 1
    with ResultStore(path) as store:
        row = store.get(KEY)
        assert row is not None and row.score == 1234.5 and row.status == "ok"
        assert row.device == "cpu" and row.created_at
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_singular_scores_keep_minus_inf(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(KEY, score=-math.inf, status="singular")
        row = store.get(KEY)
        assert row is not None and row.score == -math.inf


def test_final_rows_are_never_overwritten_but_errors_are(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(KEY, score=None, status="error", error="boom")
        store.put(KEY, score=1.0, status="ok")
        store.put(KEY, score=2.0, status="ok")
        row = store.get(KEY)
        assert row is not None and row.score == 1.0 and row.error is None
        assert len(store) == 1


def test_nan_is_refused(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store, pytest.raises(StoreError, match="NaN"):
        store.put(KEY, score=math.nan, status="ok")


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all" * 10)
    with pytest.raises(StoreError, match="not a naswot store"):
        ResultStore(text)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a naswot store"):
        ResultStore(other)
    with pytest.raises(StoreError, match="directory"):
        ResultStore(tmp_path)


def test_default_path_is_in_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "naswot" / "store.sqlite"
    monkeypatch.setenv("NASWOT_STORE", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"


def _write_old_store(path: Path, version: int) -> None:
    """A store as naswot wrote it with schema 1 or 2: an error row (and an ok row in 2)."""
    from naswot.store import APPLICATION_ID

    assert "engine" not in SCHEMA_1 and "constant" not in SCHEMA_1
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1 if version == 1 else SCHEMA_2)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
    columns = "space, arch, proxy, variant, dataset, batch_fingerprint, batch_size, seed"
    db.execute(
        f"INSERT INTO scores ({columns}, score, status, error, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*OLD_KEY, None, "error", "old failure", "2026-01-01T00:00:00+00:00"),
    )
    if version == 2:
        db.execute(
            f"INSERT INTO scores ({columns}, score, status, engine, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (OLD_KEY[0], "other-arch", *OLD_KEY[2:], 7.5, "ok", "module", "2026-01-01"),
        )
    db.commit()
    db.close()


def _all_rows(path: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT arch, proxy_revision, engine, space_revision, score, status, error FROM scores"
        ).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("version", [1, 2])
def test_old_stores_are_migrated_keeping_rows_that_are_never_served(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.sqlite"
    _write_old_store(path, version)
    if version == 1:
        db = sqlite3.connect(path)
        with pytest.raises(sqlite3.IntegrityError):  # schema 1's CHECK refuses the new statuses
            db.execute("UPDATE scores SET status = 'constant'")
        db.close()
    with ResultStore(path) as store:
        assert len(store) == version  # every old row kept ...
        assert store.get(KEY) is None  # ... and none served: no proxy has revision 0
        row = store.get(ScoreKey(*OLD_KEY, 0, "unknown", ""))
        assert row is not None and row.status == "error" and row.error == "old failure"
        store.put(KEY, score=None, status="constant", error="output does not depend on input")
    expected = [(KEY.arch, 0, "unknown", "", None, "error", "old failure")]
    if version == 2:
        expected.append(("other-arch", 0, "module", "", 7.5, "ok", None))  # engine as recorded
    expected.append((KEY.arch, 1, "fast", "", None, "constant", "output does not depend on input"))
    assert sorted(_all_rows(path), key=str) == sorted(expected, key=str)
    with ResultStore(path) as store:  # reopening a migrated store changes nothing
        assert len(store) == version + 1
    db = sqlite3.connect(path)
    version_now = db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert version_now == "3" and tables == {"meta", "scores"}
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_the_key_holds_revision_engine_and_space_revision(tmp_path: Path) -> None:
    import dataclasses

    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put(KEY, score=1.0, status="ok")
        changes: list[dict[str, object]] = [
            {"proxy_revision": 2},
            {"engine": "module"},
            {"space_revision": "src:0123456789abcdef"},
        ]
        for change in changes:
            other = dataclasses.replace(KEY, **change)  # type: ignore[arg-type]
            assert store.get(other) is None, change
            store.put(other, score=2.0, status="ok")
        assert len(store) == 4
        row = store.get(KEY)
        assert row is not None and row.score == 1.0


def test_store_statuses_are_the_proxy_statuses() -> None:
    from naswot.proxies import Status
    from naswot.store import STATUSES

    assert set(STATUSES) == {s.value for s in Status}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with ResultStore(path):
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema 99"):
        ResultStore(path)


def test_write_failures_are_store_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore(path, timeout=0.2) as store:
        with pytest.raises(StoreError, match="Unknown status 'weird'"):
            store.put(KEY, score=1.0, status="weird")
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="Cannot write to the store"):
            store.put(KEY, score=1.0, status="ok")
        blocker.rollback()
        blocker.close()
        store.put(KEY, score=1.0, status="ok")
        assert len(store) == 1


def test_a_locked_store_is_a_clear_error_and_migrates_later(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    _write_old_store(path, 1)
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match=r"locked by another process|Cannot upgrade"):
        ResultStore(path, timeout=0.05)
    blocker.rollback()
    blocker.close()
    with ResultStore(path) as store:  # unchanged by the failed attempt, migrated now
        row = store.get(ScoreKey(*OLD_KEY, 0, "unknown", ""))
        assert row is not None and row.error == "old failure"


def test_many_processes_creating_one_store_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    path, go = tmp_path / "s.sqlite", tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from naswot.store import ResultStore\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.001)\n"
        "ResultStore(sys.argv[1]).close()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(go)], stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    time.sleep(1.0)  # let every process reach the wait loop
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with ResultStore(path) as store:
        assert len(store) == 0
