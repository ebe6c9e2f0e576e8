"""The result store: an embedded SQLite database (WAL) that holds every score with its provenance.

Every scoring job writes through it, one committed row per architecture, so a killed job resumes
where it stopped and re-scoring the same key is a cache hit. Rows with status ``error`` are
re-scored on the next run; ``ok``, ``singular`` and the degenerate statuses (``constant``,
``no_relu``, ``overflow``: properties of the architecture) are final.

A row is served only for the same computation: besides the architecture, proxy, variant and
exact batch, the key holds the proxy's ``revision`` (bumped whenever its arithmetic changes), the
engine (``module``, ``fast``, ``fast-bf16``) and the space's revision (a fingerprint of a custom
space's source; empty for built-in spaces). Every SQLite failure (a damaged file, a full disk, a
read-only folder, a lock held too long) is raised as one :class:`~naswot.exceptions.StoreError`
that names the file and says what to do.
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
SCHEMA_VERSION = 3
# Schema 2 (naswot 0.1): the degenerate statuses join the status CHECK. Schema 3: the proxy
# revision, the engine and the space revision join the key. Older stores are rebuilt on open, in
# one transaction; their rows get proxy revision 0 (no proxy has it), so they are never served.
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
    "proxy_revision",
    "engine",
    "space_revision",
)
_VALUE_COLUMNS = (
    "score",
    "status",
    "error",
    "seconds",
    "n_units",
    "batch_source",
    "device",
    "naswot_version",
    "torch_version",
    "created_at",
)
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
    proxy_revision INTEGER NOT NULL,
    engine TEXT NOT NULL,
    space_revision TEXT NOT NULL,
    score REAL,
    status TEXT NOT NULL CHECK (status IN ({statuses})),
    error TEXT,
    seconds REAL,
    n_units INTEGER,
    batch_source TEXT,
    device TEXT,
    naswot_version TEXT,
    torch_version TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY ({key})
);
""".replace("{statuses}", ", ".join(f"'{s}'" for s in STATUSES)).replace(
    "{key}", ", ".join(_KEY_COLUMNS)
)
_SQLITE_HEADER = b"SQLite format 3\x00"
_MOVE_ASIDE = (
    "move it aside with its -wal and -shm files (e.g. mv {path} {path}.damaged) to start a new "
    "store; the scores it held are then computed again"
)


def default_store_path() -> Path:
    """``$NASWOT_STORE`` if set, else ``naswot/store.sqlite`` in the user's cache directory."""
    env = os.environ.get("NASWOT_STORE")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "naswot" / "store.sqlite"


@dataclass(frozen=True, slots=True)
class ScoreKey:
    """What makes two scores the same score: architecture, exact batch, and the computation.

    The computation is the proxy with its variant and revision, the engine and the space's
    revision (see the module docstring).
    """

    space: str
    arch: str
    proxy: str
    variant: str
    dataset: str
    batch_fingerprint: str
    batch_size: int
    seed: int
    proxy_revision: int
    engine: str
    space_revision: str

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
    naswot_version: str | None
    torch_version: str | None
    created_at: str


class ResultStore:
    """A SQLite result store; use as a context manager or call :meth:`close`.

    Args:
        path: the database file; created (with its folder) if missing.
        timeout: seconds to wait for another writer's lock.

    Raises:
        StoreError: if the file exists but is not a naswot store, is damaged, or cannot be
            opened or created (read-only folder, a file where a folder should be, full disk);
            the message names the file and what to do. Every later SQLite failure is a
            StoreError too.
    """

    def __init__(self, path: Path | str, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        if self.path.is_dir():
            raise StoreError(f"The store path {self.path} is a directory, not a file.")
        self._make_folder()
        self._refuse_foreign_file()
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise self._error(e, "open") from e
        try:
            self._check_and_init()
        except sqlite3.Error as e:
            self._db.close()
            raise self._error(e, "open") from e
        except BaseException:
            self._db.close()
            raise

    def _make_folder(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
            if blocker is not None:
                why = f"{blocker} is a file, not a folder"
            else:
                why = f"cannot create the folder {folder} ({e.strerror})"
            raise StoreError(
                f"Cannot create the store {self.path}: {why}; pass --store with a path in a "
                "writable folder."
            ) from None

    def _refuse_foreign_file(self) -> None:
        """Refuses a file that is not an SQLite database before SQLite touches it."""
        try:
            with self.path.open("rb") as f:
                header = f.read(100)
        except FileNotFoundError:
            return
        except OSError as e:
            raise StoreError(f"Cannot read the store {self.path}: {e.strerror}.") from None
        if header and not header.startswith(_SQLITE_HEADER):
            raise StoreError(f"{self.path} is not a naswot store (file is not a database).")

    def _header_says_naswot(self) -> bool:
        """True when the file's own header carries the naswot application id."""
        try:
            with self.path.open("rb") as f:
                header = f.read(72)
        except OSError:
            return False
        return (
            header.startswith(_SQLITE_HEADER)
            and len(header) == 72
            and int.from_bytes(header[68:72], "big") == APPLICATION_ID
        )

    def _error(self, e: sqlite3.Error, action: str) -> StoreError:
        """One StoreError line for an SQLite failure: the file, the cause, what to do."""
        code = getattr(e, "sqlite_errorcode", 0) & 0xFF
        path = self.path
        verb = {"open": "open", "write": "write to", "read": "read"}[action]
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(e):
            return StoreError(
                f"Cannot {verb} the store {path}: it stayed locked by another process for "
                f"{self._timeout} s ({e}). Wait for the other job, or pass another --store."
            )
        if code == sqlite3.SQLITE_FULL:
            return StoreError(
                f"Cannot {verb} the store {path}: the disk is full ({e}). Free some space, or "
                "pass --store on another disk, and run the same command again: finished rows "
                "are kept."
            )
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            if code == sqlite3.SQLITE_NOTADB and not self._header_says_naswot():
                return StoreError(
                    f"{path} is not a naswot store ({e}); if it was one, its header is "
                    "damaged: " + _MOVE_ASIDE.format(path=path) + "."
                )
            return self._damaged(str(e))
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM) or (
            code == sqlite3.SQLITE_IOERR
        ):
            why = self._filesystem_problem()
            if why is not None:
                return StoreError(
                    f"Cannot {verb} the store {path}: {why} ({e}). SQLite writes the file and "
                    f"creates {path.name}-wal and {path.name}-shm beside it: make the folder "
                    "writable or pass --store with a path in a writable folder."
                )
        return StoreError(
            f"Cannot {verb} the store {path}: {e}. If this persists, check it with "
            f"sqlite3 {path} 'PRAGMA integrity_check' or " + _MOVE_ASIDE.format(path=path) + "."
        )

    def _filesystem_problem(self) -> str | None:
        """Why the file or its folder cannot be written, if the file system says so."""
        folder = self.path.parent
        if not folder.is_dir():
            return f"its folder {folder} does not exist or is not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} is read-only"
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            return f"the file {self.path} is read-only"
        for side in ("-wal", "-shm"):
            other = self.path.with_name(self.path.name + side)
            if other.exists() and not os.access(other, os.R_OK | os.W_OK):
                return f"the file {other} is read-only"
        return None

    def _damaged(self, what: str) -> StoreError:
        return StoreError(
            f"The store {self.path} is damaged ({what}; {self.integrity_check()}); "
            + _MOVE_ASIDE.format(path=self.path)
            + "."
        )

    def integrity_check(self) -> str:
        """What SQLite's ``PRAGMA integrity_check`` says of the file, in one line.

        Where the full check cannot run on a damaged file, ``PRAGMA quick_check`` (which skips
        the index comparisons) is reported instead.
        """
        error: sqlite3.Error | None = None
        for pragma in ("integrity_check", "quick_check"):
            try:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                db = sqlite3.connect(uri, uri=True, timeout=1.0)
                try:
                    lines = [str(r[0]) for r in db.execute(f"PRAGMA {pragma}(3)")]
                finally:
                    db.close()
            except sqlite3.Error as e:
                error = error or e
                continue
            text = "; ".join(" ".join(line.split()) for line in lines)
            text = text if len(text) <= 300 else text[:297] + "..."
            if pragma == "integrity_check":
                return f"PRAGMA integrity_check: {text}"
            return f"PRAGMA integrity_check: {error}; PRAGMA quick_check: {text}"
        return f"PRAGMA integrity_check: {error}"

    def _check_and_init(self) -> None:
        db = self._db
        app_id, tables = self._identity()
        if app_id == 0 and not tables:
            # New file: decide and create under the write lock, so that a process creating the
            # same store at the same moment is seen whole (committed) or not at all.
            self._retrying("BEGIN IMMEDIATE")
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
        if self._schema_version() in (1, 2):
            self._migrate()
        version = self._schema_version()
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store schema {version}; this naswot reads "
                f"schema {SCHEMA_VERSION}."
            )

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
            self._retrying("BEGIN")
        try:
            app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            if own:
                db.execute("COMMIT")
        return app_id, tables

    def _schema_version(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if row is None:
            return None
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise self._damaged(f"its schema_version is {row[0]!r}, not a number") from None

    def _migrate(self) -> None:
        """Rebuilds a schema-1 or -2 table as schema 3, keeping every row (never to be served).

        The old rows get proxy revision 0, which no proxy has, their recorded engine (``unknown``
        where the store predates it) and an empty space revision.
        """
        db = self._db
        old = self._schema_version()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(
                f"Cannot upgrade the store {self.path} from schema {old} to {SCHEMA_VERSION}: "
                f"{e} (another process holds it, or the file is read-only)."
            ) from None
        try:
            old = self._schema_version()
            if old not in (1, 2):  # another process migrated it meanwhile
                db.execute("ROLLBACK")
                return
            have = [row[1] for row in db.execute("PRAGMA table_info(scores)")]
            kept = [c for c in (*_KEY_COLUMNS, *_VALUE_COLUMNS) if c in have]
            added = {"proxy_revision": "0", "engine": "'unknown'", "space_revision": "''"}
            sources = [("COALESCE(engine, 'unknown')" if c == "engine" else c) for c in kept] + [
                v for c, v in added.items() if c not in have
            ]
            targets = kept + [c for c in added if c not in have]
            db.execute("ALTER TABLE scores RENAME TO scores_old")
            db.execute(_SCHEMA.split(";")[1])
            db.execute(
                f"INSERT INTO scores ({', '.join(targets)}) "
                f"SELECT {', '.join(sources)} FROM scores_old"
            )
            db.execute("DROP TABLE scores_old")
            db.execute(
                "UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:  # SQLite may already have rolled back
                db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StoreError(
                    f"Cannot upgrade the store {self.path} from schema {old} to "
                    f"{SCHEMA_VERSION}: {e}; the store is unchanged."
                ) from None
            raise

    def _stored(self, key: ScoreKey, row: tuple[object, ...]) -> StoredScore:
        """A row as read, checked: a damaged value is a StoreError, never a wrong score."""
        score, status, error, seconds, n_units, *provenance = row
        where = f"the row of {key.arch!r} ({key.proxy})"
        if isinstance(score, int) and not isinstance(score, bool):
            score = float(score)
        if score is not None and (not isinstance(score, float) or math.isnan(score)):
            raise self._damaged(f"{where} holds the score {score!r}, which is not a number")
        if status not in STATUSES:
            raise self._damaged(f"{where} has the unknown status {status!r}")
        if isinstance(seconds, int):
            seconds = float(seconds)
        if seconds is not None and not isinstance(seconds, float):
            raise self._damaged(f"{where} holds the time {seconds!r}, which is not a number")
        if n_units is not None and not isinstance(n_units, int):
            raise self._damaged(f"{where} holds the unit count {n_units!r}, not an integer")
        texts: list[str | None] = []
        for value in (error, *provenance):
            if value is not None and not isinstance(value, str):
                raise self._damaged(f"{where} holds {value!r} where text belongs")
            texts.append(value)
        error_text, batch_source, device, naswot_version, torch_version, created_at = texts
        return StoredScore(
            key,
            score,
            str(status),
            error_text,
            seconds,
            n_units,
            batch_source,
            device,
            naswot_version,
            torch_version,
            str(created_at),
        )

    def get(self, key: ScoreKey) -> StoredScore | None:
        """The stored row for ``key``, or None."""
        where = " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)
        try:
            row = self._retrying(
                f"SELECT {', '.join(_VALUE_COLUMNS)} FROM scores WHERE {where}", key.values()
            ).fetchone()
        except sqlite3.Error as e:
            raise self._error(e, "read") from e
        return None if row is None else self._stored(key, row)

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
        naswot_version: str | None = None,
        torch_version: str | None = None,
    ) -> None:
        """Writes one row and commits it. A final row (not ``error``) is never overwritten."""
        if score is not None and math.isnan(score):
            raise StoreError("Refusing to store a NaN score.")
        if status not in STATUSES:
            raise StoreError(f"Unknown status {status!r}; a store row has one of {STATUSES}.")
        columns = (*_KEY_COLUMNS, *_VALUE_COLUMNS)
        values = (
            *key.values(),
            score,
            status,
            error,
            seconds,
            n_units,
            batch_source,
            device,
            naswot_version,
            torch_version,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in _VALUE_COLUMNS)
        try:
            self._retrying(
                f"INSERT INTO scores ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({', '.join(_KEY_COLUMNS)}) DO UPDATE SET {updates} "
                "WHERE scores.status = 'error'",
                values,
            )
        except sqlite3.Error as e:  # locked past the timeout, disk full, file damaged...
            raise self._error(e, "write") from e

    def rows(self) -> Iterator[StoredScore]:
        """Every stored row, in insertion order."""
        n = len(_KEY_COLUMNS)
        try:
            cursor = self._db.execute(
                f"SELECT {', '.join((*_KEY_COLUMNS, *_VALUE_COLUMNS))} FROM scores ORDER BY rowid"
            )
            for row in cursor:
                yield self._stored(ScoreKey(*row[:n]), row[n:])
        except sqlite3.Error as e:
            raise self._error(e, "read") from e

    def __len__(self) -> int:
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
        except sqlite3.Error as e:
            raise self._error(e, "read") from e

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
