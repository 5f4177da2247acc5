"""Connections to one SQLite catalog file: per process and thread, in WAL mode, with retries.

Every connection is set up the same way: WAL journal (readers never block the
writer), `synchronous=NORMAL` (a commit does not wait for the disk; a power
cut may lose the last commits but never corrupts the file), foreign keys on,
and a busy timeout. Writes run in `BEGIN IMMEDIATE` transactions, which take
the write lock up front, so two writers never deadlock upgrading a read lock;
a transaction that still meets "database is locked" is retried, a bounded
number of times.

A connection is never used across `fork()`: SQLite forbids it. A child process
opens its own connections on first use and leaves the ones it inherited alone.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TypeVar

from tether.catalog.errors import CatalogBusyError, CatalogDamagedError, CatalogError
from tether.catalog.schema import MIGRATIONS, Migration, check_version, migrate, schema_version

__all__ = ["Database", "is_busy"]

T = TypeVar("T")

MAX_ATTEMPTS = 10
_FIRST_DELAY = 0.002
_MAX_DELAY = 0.25

# Connections a forked child inherited from its parent. They are kept alive and
# never closed in the child: closing them there could checkpoint or unlock on
# behalf of the parent.
_inherited: list[sqlite3.Connection] = []
_databases: weakref.WeakSet[Database] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for database in list(_databases):
        database._forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's "database is locked" (or "busy"), which a retry may cure."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(exc)
    return "locked" in message or "busy" in message


class Database:
    """One SQLite catalog file, its schema kept current, with connections made on demand.

    Args:
        path: the database file; its folder is created on first use.
        timeout: seconds a statement waits for a lock held by another process,
            and the longest a write transaction is retried.
        migrations: the schema steps to apply (tests pass their own).
        scratch: a private file being built (a rebuild): no journal, no syncs.
    """

    def __init__(
        self,
        path: str,
        *,
        timeout: float = 30.0,
        migrations: Sequence[Migration] = MIGRATIONS,
        scratch: bool = False,
    ) -> None:
        self.path = path
        self.timeout = float(timeout)
        self.migrations = tuple(migrations)
        self.scratch = scratch
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._epoch = 0
        _databases.add(self)

    # --- connections -----------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema migrated) on first use.

        Raises:
            CatalogError: the file cannot be opened.
            CatalogDamagedError: the file is not a readable SQLite database.
            SchemaVersionError: the catalog is newer than this tether.
        """
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None and local.key == (os.getpid(), self._epoch):
            return connection
        if self._pid != os.getpid():
            self._forget_connections()
            local = self._local
        connection = self._open()
        with self._lock:
            self._connections.append(connection)
        local.connection = connection
        local.key = (os.getpid(), self._epoch)
        return connection

    def _open(self) -> sqlite3.Connection:
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise CatalogError(
                f"cannot create the catalog's folder {folder}: {exc}; check CATALOG_URL"
            ) from exc
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise CatalogError(
                f"cannot open the catalog {self.path}: {exc}; check CATALOG_URL and that its"
                " folder is writable"
            ) from exc
        try:
            self._configure(connection)
            self._ensure_schema(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _configure(self, connection: sqlite3.Connection) -> None:
        pragmas = (
            ("journal_mode = OFF", "synchronous = OFF")
            if self.scratch
            else ("journal_mode = WAL", "synchronous = NORMAL")
        )
        try:
            for pragma in (*pragmas, "foreign_keys = ON", "temp_store = MEMORY"):
                self._retry(lambda: connection.execute(f"PRAGMA {pragma}").fetchall())
        except sqlite3.DatabaseError as exc:
            raise self.error(exc, "open") from exc

    def _ensure_schema(self, connection: sqlite3.Connection) -> None:
        target = self.migrations[-1].version if self.migrations else 0
        try:
            version = self._retry(lambda: schema_version(connection))
        except sqlite3.DatabaseError as exc:
            raise self.error(exc, "open") from exc
        check_version(version, target, self.path)
        if version < target:
            self.write(lambda c: migrate(c, self.migrations, where=self.path), connection)

    def _forget_connections(self) -> None:
        """After a fork: drop (without closing) the connections of the parent process."""
        self._lock = threading.Lock()
        _inherited.extend(self._connections)
        self._connections = []
        self._local = threading.local()
        self._pid = os.getpid()

    def close(self) -> None:
        """Close this process's connections; the next use opens new ones.

        Call it when no other thread is using the catalog.
        """
        if self._pid != os.getpid():
            self._forget_connections()
            return
        with self._lock:
            connections, self._connections = self._connections, []
            self._epoch += 1
        for connection in connections:
            connection.close()

    # --- transactions ----------------------------------------------------------------

    def write(
        self,
        work: Callable[[sqlite3.Connection], T],
        connection: sqlite3.Connection | None = None,
    ) -> T:
        """Run `work(connection)` in one write transaction.

        The write lock is taken first (`BEGIN IMMEDIATE`); while other processes
        hold it, SQLite waits up to `timeout` and the attempt is retried a
        bounded number of times. `work` runs once, with the lock held, so it may
        consume iterators. If it raises, the transaction is rolled back and none
        of it is kept.

        Raises:
            CatalogBusyError: the lock could not be taken within `timeout` seconds.
            CatalogError: SQLite reported another error.
        """
        conn = connection or self.connection()
        deadline = time.monotonic() + self.timeout
        delay = _FIRST_DELAY
        attempt = 1
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.Error as exc:
                if not is_busy(exc) or attempt >= MAX_ATTEMPTS or time.monotonic() >= deadline:
                    raise self.error(exc, "write to") from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, _MAX_DELAY)
            attempt += 1
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self.error(exc, "write to") from exc
            raise
        return result

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` in one read transaction: it sees one consistent snapshot.

        Raises:
            CatalogError: SQLite reported an error.
        """
        conn = self.connection()
        try:
            conn.execute("BEGIN")
            try:
                return work(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self.error(exc, "read") from exc

    def _retry(self, step: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.timeout
        delay = _FIRST_DELAY
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, _MAX_DELAY)
        return step()

    def error(self, exc: sqlite3.Error, action: str) -> CatalogError:
        """The catalog error to raise for SQLite's `exc`, raised while trying to `action` it."""
        if isinstance(exc, CatalogError):
            return exc
        if is_busy(exc):
            return CatalogBusyError(
                f"the catalog {self.path} stayed locked by other processes for"
                f" {self.timeout:g}s; retry, or find the process that holds it"
            )
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            if "not a database" in str(exc) or "malformed" in str(exc):
                return CatalogDamagedError(
                    f"the catalog {self.path} is damaged ({exc}); rebuild it from storage with"
                    " `tether catalog rebuild`"
                )
        return CatalogError(f"cannot {action} the catalog {self.path}: {exc}")

    def __repr__(self) -> str:
        return f"<Database {self.path}>"
