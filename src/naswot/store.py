"""The result store: an embedded SQLite database (WAL) that holds every score with its provenance.

Every scoring job writes through it, one committed row per architecture, so a killed job resumes
where it stopped and re-scoring the same key is a cache hit. Rows with status ``error`` are
re-scored on the next run; ``ok``, ``singular`` and the degenerate statuses (``constant``,
``no_relu``, ``overflow``: properties of the architecture) are final.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from naswot.exceptions import StoreError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "STATUSES",
    "ResultStore",
    "ScoreKey",
    "StoredScore",
    "default_store_path",
]

APPLICATION_ID = 0x4E535754  # "NSWT" in the SQLite header: marks a file as a naswot store.
SCHEMA_VERSION = 2
# Schema 2 (naswot 0.1): the degenerate statuses join the status CHECK; schema-1 stores are
# rebuilt on open, in one transaction.
STATUSES = ("ok", "singular", "error", "constant", "no_relu", "overflow")

_KEY_COLUMNS = (
    "space",
    "arch",
    "proxy",
    "variant",
    "dataset",
    "batch_fingerprint",
    "batch_size",
    "seed",
)
# Provenance columns added after the first stores were written; opening an older store adds them.
_OPTIONAL_COLUMNS = ("engine",)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    arch TEXT NOT NULL,
    proxy TEXT NOT NULL,
    variant TEXT NOT NULL,
    dataset TEXT NOT NULL,
    batch_fingerprint TEXT NOT NULL,
    batch_size INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    score REAL,
    status TEXT NOT NULL CHECK (status IN ({statuses})),
    error TEXT,
    seconds REAL,
    n_units INTEGER,
    batch_source TEXT,
    device TEXT,
    engine TEXT,
    naswot_version TEXT,
    torch_version TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (space, arch, proxy, variant, dataset, batch_fingerprint, batch_size, seed)
);
""".replace("{statuses}", ", ".join(f"'{s}'" for s in STATUSES))


def default_store_path() -> Path:
    """``$NASWOT_STORE`` if set, else ``naswot/store.sqlite`` in the user's cache directory."""
    env = os.environ.get("NASWOT_STORE")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "naswot" / "store.sqlite"


@dataclass(frozen=True, slots=True)
class ScoreKey:
    """What makes two scores the same score: architecture, proxy, variant, and exact input batch."""

    space: str
    arch: str
    proxy: str
    variant: str
    dataset: str
    batch_fingerprint: str
    batch_size: int
    seed: int

    def values(self) -> tuple[str | int, ...]:
        """The key's values in column order."""
        return tuple(getattr(self, c) for c in _KEY_COLUMNS)


@dataclass(frozen=True, slots=True)
class StoredScore:
    """One row of the store."""

    key: ScoreKey
    score: float | None
    status: str
    error: str | None
    seconds: float | None
    n_units: int | None
    batch_source: str | None
    device: str | None
    engine: str | None
    naswot_version: str | None
    torch_version: str | None
    created_at: str


class ResultStore:
    """A SQLite result store; use as a context manager or call :meth:`close`.

    Args:
        path: the database file; created (with its folder) if missing.
        timeout: seconds to wait for another writer's lock.

    Raises:
        StoreError: if the file exists but is not a naswot store.
    """

    def __init__(self, path: Path | str, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"The store path {self.path} is a directory, not a file.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._timeout = timeout
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._check_and_init()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise StoreError(f"{self.path} is not a naswot store ({e}).") from e
            raise StoreError(
                f"The store {self.path} stayed locked by another process for {timeout} s ({e})."
            ) from e
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path} is not a naswot store ({e}).") from e

    def _check_and_init(self) -> None:
        db = self._db
        app_id, tables = self._identity()
        if app_id == 0 and not tables:
            # New file: decide and create under the write lock, so that a process creating the
            # same store at the same moment is seen whole (committed) or not at all.
            db.execute("BEGIN IMMEDIATE")
            try:
                app_id, tables = self._identity()
                if app_id == 0 and not tables:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    db.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                    app_id = APPLICATION_ID
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        if app_id != APPLICATION_ID:
            raise StoreError(
                f"{self.path} is not a naswot store (it is an SQLite database with "
                f"application_id {app_id} and tables {sorted(tables)})."
            )
        self._set_wal()
        db.execute("PRAGMA synchronous=NORMAL")
        if self._schema_version() == 1:
            self._migrate_from_1()
        version = self._schema_version()
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store schema {version}; this naswot reads "
                f"schema {SCHEMA_VERSION}."
            )
        self._add_missing_columns()

    def _set_wal(self) -> None:
        """Switches the file to WAL mode (persistent; a no-op once done)."""
        self._retrying("PRAGMA journal_mode=WAL")

    def _retrying(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """Executes ``sql``, retrying while SQLite answers "locked" without waiting.

        SQLite skips the busy timeout where waiting could deadlock (a lock upgrade while another
        process holds or wants the write lock, e.g. two processes switching a new store to WAL,
        or a write whose WAL snapshot went stale); the statement is then simply retried, until
        the store's timeout.
        """
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return self._db.execute(sql, params)
            except sqlite3.OperationalError as e:
                locked = "locked" in str(e) or "busy" in str(e)
                if not locked or self._db.in_transaction or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _identity(self) -> tuple[int, set[str]]:
        """The file's application_id and its tables, read in one transaction."""
        db = self._db
        own = not db.in_transaction
        if own:
            db.execute("BEGIN")
        try:
            app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            if own:
                db.execute("COMMIT")
        return app_id, tables

    def _schema_version(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        return None if row is None else int(row[0])

    def _migrate_from_1(self) -> None:
        """Rebuilds a schema-1 table (old status CHECK) as schema 2, keeping every row."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(
                f"Cannot upgrade the store {self.path} from schema 1 to {SCHEMA_VERSION}: {e} "
                "(another process holds it, or the file is read-only)."
            ) from e
        try:
            if self._schema_version() != 1:  # another process migrated it meanwhile
                db.execute("ROLLBACK")
                return
            self._add_missing_columns()
            columns = [row[1] for row in db.execute("PRAGMA table_info(scores)")]
            db.execute("ALTER TABLE scores RENAME TO scores_v1")
            schema = _SCHEMA.split(";")[1]
            db.execute(schema)
            listed = ", ".join(columns)
            db.execute(f"INSERT INTO scores ({listed}) SELECT {listed} FROM scores_v1")
            db.execute("DROP TABLE scores_v1")
            db.execute(
                "UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:  # SQLite may already have rolled back
                db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StoreError(
                    f"Cannot upgrade the store {self.path} from schema 1 to {SCHEMA_VERSION}: "
                    f"{e}; the store is unchanged."
                ) from e
            raise

    def _add_missing_columns(self) -> None:
        """Adds provenance columns that stores written by earlier 0.1 builds lack (all nullable)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(scores)")}
        for column in _OPTIONAL_COLUMNS:
            if column not in have:
                self._db.execute(f"ALTER TABLE scores ADD COLUMN {column} TEXT")

    def get(self, key: ScoreKey) -> StoredScore | None:
        """The stored row for ``key``, or None."""
        where = " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)
        row = self._retrying(
            "SELECT score, status, error, seconds, n_units, batch_source, device, engine, "
            f"naswot_version, torch_version, created_at FROM scores WHERE {where}",
            key.values(),
        ).fetchone()
        return None if row is None else StoredScore(key, *row)

    def put(
        self,
        key: ScoreKey,
        *,
        score: float | None,
        status: str,
        error: str | None = None,
        seconds: float | None = None,
        n_units: int | None = None,
        batch_source: str | None = None,
        device: str | None = None,
        engine: str | None = None,
        naswot_version: str | None = None,
        torch_version: str | None = None,
    ) -> None:
        """Writes one row and commits it. A final row (``ok``/``singular``) is never overwritten."""
        if score is not None and math.isnan(score):
            raise StoreError("Refusing to store a NaN score.")
        columns = (
            *_KEY_COLUMNS,
            "score",
            "status",
            "error",
            "seconds",
            "n_units",
            "batch_source",
            "device",
            "engine",
            "naswot_version",
            "torch_version",
            "created_at",
        )
        values = (
            *key.values(),
            score,
            status,
            error,
            seconds,
            n_units,
            batch_source,
            device,
            engine,
            naswot_version,
            torch_version,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[len(_KEY_COLUMNS) :])
        if status not in STATUSES:
            raise StoreError(f"Unknown status {status!r}; a store row has one of {STATUSES}.")
        try:
            self._retrying(
                f"INSERT INTO scores ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({', '.join(_KEY_COLUMNS)}) DO UPDATE SET {updates} "
                "WHERE scores.status = 'error'",
                values,
            )
        except sqlite3.Error as e:  # locked past the timeout, disk full, file replaced...
            raise StoreError(f"Cannot write to the store {self.path}: {e}.") from e

    def rows(self) -> Iterator[StoredScore]:
        """Every stored row, in insertion order."""
        cursor = self._db.execute(
            f"SELECT {', '.join(_KEY_COLUMNS)}, score, status, error, seconds, n_units, "
            "batch_source, device, engine, naswot_version, torch_version, created_at FROM scores "
            "ORDER BY rowid"
        )
        n = len(_KEY_COLUMNS)
        for row in cursor:
            yield StoredScore(ScoreKey(*row[:n]), *row[n:])

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        """Closes the connection."""
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
