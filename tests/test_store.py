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


def test_older_store_without_engine_column_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with ResultStore(path):
        pass
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE scores DROP COLUMN engine")
    db.commit()
    db.close()
    with ResultStore(path) as store:
        store.put(KEY, score=1.0, status="ok", engine="fast")
        row = store.get(KEY)
        assert row is not None and row.engine == "fast"
