"""The catalog's schema: numbered forward migrations, applied in order in one transaction.

The schema version is SQLite's `PRAGMA user_version`. A catalog at version N
gets every migration numbered above N, and the new version, in one write
transaction: a migration that fails, or a process that dies half-way, leaves
the catalog at version N. A catalog newer than the last migration here is
refused, since an older tether cannot know what the newer tables mean.

Bundle tables are created with version 1 and filled by `tether.bundles`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tether.catalog.errors import SchemaVersionError

__all__ = ["Migration", "MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]


@dataclass(frozen=True)
class Migration:
    """One step of the schema.

    Attributes:
        version: the schema version after this step: 1, 2, 3, ... in order.
        description: what the step changes, for people.
        statements: SQL statements run in order.
        function: run after `statements`, with the connection, for steps SQL alone
            cannot express (rewriting JSON, say).
    """

    version: int
    description: str
    statements: tuple[str, ...] = ()
    function: Callable[[sqlite3.Connection], None] | None = None

    def apply(self, connection: sqlite3.Connection) -> None:
        """Run the step on `connection`, inside the caller's transaction."""
        for statement in self.statements:
            connection.execute(statement)
        if self.function is not None:
            self.function(connection)


_RUNS = (
    # Runs: the queried columns, and the rest of the manifest (run.json without
    # its tasks) as JSON in `record`.
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY NOT NULL,
        dag TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'dag' CHECK (kind IN ('dag', 'experiment')),
        status TEXT NOT NULL,
        run_folder TEXT NOT NULL,
        storage_root TEXT,
        created_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        duration REAL,
        git_commit TEXT,
        git_dirty INTEGER,
        host TEXT,
        command TEXT,
        record TEXT NOT NULL DEFAULT '{}'
    )
    """,
    # Listing is newest first, optionally for one DAG or status: each has an
    # index ending in (started_at, run_id), so a page of runs is a walk down one
    # index, never a scan of the table or a sort. (Every index costs each
    # recorded run a few microseconds; `kind` has two values and rides on
    # runs_by_started.)
    "CREATE INDEX runs_by_started ON runs (started_at, run_id)",
    "CREATE INDEX runs_by_dag ON runs (dag, started_at, run_id)",
    "CREATE INDEX runs_by_status ON runs (status, started_at, run_id)",
    """
    CREATE TABLE task_runs (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        duration REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (run_id, label)
    )
    """,
    """
    CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER,
        value REAL,
        timestamp REAL
    )
    """,
    # SQLite stores NaN as NULL, so `value` may be NULL: a NaN loss is data too.
    # One row per logged value: recording the same metrics.json twice (after a
    # retry, or a rebuild) adds nothing.
    "CREATE UNIQUE INDEX metrics_by_run ON metrics"
    " (run_id, key, ifnull(step, ''), ifnull(timestamp, ''))",
    "CREATE INDEX metrics_by_key ON metrics (key, run_id)",
    """
    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID
    """,
)

_BUNDLES = (
    # Data contexts: named namespaces of bundles, each optionally bound to a remote.
    """
    CREATE TABLE contexts (
        name TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL,
        remote_url TEXT
    ) WITHOUT ROWID
    """,
    # A bundle: its metadata; `committed` is a flag beside it, not a rewrite.
    # `manifest_path` is where its manifest sits in storage (what a rebuild reads).
    """
    CREATE TABLE bundles (
        uuid TEXT PRIMARY KEY NOT NULL,
        context TEXT NOT NULL REFERENCES contexts (name),
        name TEXT NOT NULL,
        processing_name TEXT,
        owner TEXT,
        created_at TEXT NOT NULL,
        committed INTEGER NOT NULL DEFAULT 0,
        closed INTEGER NOT NULL DEFAULT 0,
        code_ref TEXT,
        git TEXT,
        timing TEXT,
        presentation TEXT,
        manifest_path TEXT
    )
    """,
    "CREATE INDEX bundles_by_name ON bundles (context, name, created_at)",
    "CREATE INDEX bundles_by_created ON bundles (context, created_at)",
    # Content-addressed file data, stored once however many bundles hold it.
    """
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY NOT NULL,
        size INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # The files of a bundle by logical path (same-named files in different
    # folders are different paths), each pointing at its blob.
    """
    CREATE TABLE bundle_files (
        uuid TEXT NOT NULL REFERENCES bundles (uuid) ON DELETE CASCADE,
        path TEXT NOT NULL,
        hash TEXT NOT NULL REFERENCES blobs (hash),
        size INTEGER NOT NULL,
        PRIMARY KEY (uuid, path)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX bundle_files_by_hash ON bundle_files (hash)",
    """
    CREATE TABLE bundle_tags (
        uuid TEXT NOT NULL REFERENCES bundles (uuid) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (uuid, key)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX bundle_tags_by_value ON bundle_tags (key, value)",
    """
    CREATE TABLE bundle_params (
        uuid TEXT NOT NULL REFERENCES bundles (uuid) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (uuid, key)
    ) WITHOUT ROWID
    """,
    # Lineage edges: bundle `uuid` read `depends_on_uuid` as argument `arg_name`.
    # The upstream bundle may live only on a remote, so it is not a foreign key.
    # The primary key answers "what did this bundle use", the index "who used it".
    """
    CREATE TABLE lineage (
        uuid TEXT NOT NULL REFERENCES bundles (uuid) ON DELETE CASCADE,
        arg_name TEXT NOT NULL,
        depends_on_uuid TEXT NOT NULL,
        PRIMARY KEY (uuid, arg_name)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX lineage_downstream ON lineage (depends_on_uuid, uuid)",
)

_EXPERIMENTS = (
    # The last run number of each experiment: taking the next one is one upsert
    # on a primary key, whatever the history holds.
    """
    CREATE TABLE experiment_counters (
        experiment TEXT PRIMARY KEY NOT NULL,
        last_number INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # One row per stage execution whose outputs were cached: the cache key (a
    # digest of parameters, stage, code and input keys) finds it with one lookup.
    # `outputs` maps each output name to its files (relative to the cache
    # folder, with size, mtime and content hash) and its bundle.
    """
    CREATE TABLE experiment_cache (
        key TEXT PRIMARY KEY NOT NULL,
        prefix TEXT NOT NULL,
        record_hash TEXT NOT NULL,
        stage TEXT NOT NULL,
        code TEXT NOT NULL,
        inputs TEXT NOT NULL,
        outputs TEXT NOT NULL,
        run_id TEXT,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    # `--explain` asks what the last cached run of a stage was made from.
    "CREATE INDEX experiment_cache_by_stage ON experiment_cache (prefix, record_hash, stage, created_at)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, task runs, metrics and params; contexts, bundles and lineage", _RUNS + _BUNDLES),
    # Disdat's `remote(local_context, remote_context, remote_url)`: a data context
    # is bound to a context of that name at a remote URL.
    Migration(2, "data contexts remember the remote context they are bound to", (
        "ALTER TABLE contexts ADD COLUMN remote_context TEXT",
    )),
    Migration(3, "experiment run numbers and the stage cache of experiments", _EXPERIMENTS),
    # Manifests appended to segments (`<segment>#<offset>+<length>`): whether any
    # bundle still refers to a segment is one range lookup, not a scan.
    Migration(4, "bundles are found by where their manifest is", (
        "CREATE INDEX bundles_by_manifest ON bundles (manifest_path)",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(connection: sqlite3.Connection) -> int:
    """The schema version of the catalog `connection` is open on (0: empty)."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _check_order(migrations: Sequence[Migration]) -> None:
    for number, migration in enumerate(migrations, start=1):
        if migration.version != number:
            raise ValueError(
                f"migration {migration.description!r} has version {migration.version},"
                f" expected {number}: number migrations 1, 2, 3, ... in order"
            )


def check_version(version: int, target: int, where: str) -> None:
    """Refuse a catalog whose schema is newer than `target`.

    Raises:
        SchemaVersionError: `version` is above `target`.
    """
    if version > target:
        raise SchemaVersionError(
            f"the catalog {where} has schema version {version}, newer than this tether"
            f" knows ({target}); upgrade tether, or point CATALOG_URL at another catalog"
        )


def migrate(
    connection: sqlite3.Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    where: str = "",
) -> int:
    """Bring the catalog on `connection` to the last version of `migrations`.

    The caller holds the write lock (`BEGIN IMMEDIATE`); this runs the pending
    steps and sets the new version inside that transaction, and the caller
    commits. Another process that migrated first leaves nothing to do.

    Args:
        connection: a connection in a write transaction.
        migrations: the steps, numbered 1, 2, 3, ...
        where: the catalog's location, for error messages.

    Returns:
        The schema version the catalog had before.

    Raises:
        SchemaVersionError: the catalog is newer than the last migration, or a
            step failed (the caller's transaction must then be rolled back).
    """
    _check_order(migrations)
    target = migrations[-1].version if migrations else 0
    current = schema_version(connection)
    check_version(current, target, where)
    for migration in migrations[current:]:
        try:
            migration.apply(connection)
        except sqlite3.Error as exc:
            raise SchemaVersionError(
                f"migrating the catalog {where} to schema version {migration.version}"
                f" ({migration.description}) failed: {exc}; the catalog is left at version"
                f" {current}, report this with the catalog file"
            ) from exc
    if target != current:
        # PRAGMA takes no parameters; `target` is an int from the list above.
        connection.execute(f"PRAGMA user_version = {int(target)}")
    return current
