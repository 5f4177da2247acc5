"""The experiment registry and the stage cache index, in the catalog (schema version 3).

Experiment runs are rows of `runs` with `kind='experiment'`; their numbers come
from `experiment_counters`, taken in the same write transaction that records
the run, so concurrent experiments never share a number and registering a run
costs one upsert and one insert however many runs came before.

`experiment_cache` maps a stage's cache key to the files its outputs were
cached in and to the bundles that hold them; bundles and cache rows of a batch
are written in one transaction, so a cache row never points at a bundle the
catalog does not have.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.catalog.bundle_index import (
    _INSERT_BLOB,
    _INSERT_BUNDLE,
    _INSERT_EDGE,
    _INSERT_FILE,
    _INSERT_PARAM,
    _INSERT_TAG,
)
from tether.catalog.bundle_lineage import chunks, marks
from tether.catalog.bundle_records import BundleEntry, _dump
from tether.catalog.connection import Database
from tether.catalog.records import RunEntry, normalize_timestamp
from tether.catalog.sqlite import write_runs
from tether.utils.jsontext import dumps_compact

__all__ = ["CacheRow", "ExperimentIndex"]

_NEXT_NUMBER = """
    INSERT INTO experiment_counters (experiment, last_number) VALUES (?, ?)
    ON CONFLICT (experiment) DO UPDATE SET last_number = last_number + 1
    RETURNING last_number
"""
_CACHE_COLUMNS = "key, prefix, record_hash, stage, code, inputs, outputs, run_id, created_at"
_UPSERT_CACHE = f"""
    INSERT INTO experiment_cache ({_CACHE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
        outputs = excluded.outputs, run_id = excluded.run_id, created_at = excluded.created_at
"""


@dataclass
class CacheRow:
    """One cached stage execution.

    Attributes:
        key: the stage's cache key.
        prefix: the cache prefix (the experiment name unless `--prefix` was given).
        record_hash: the parameter set's hash (or an aggregate's combined hash).
        stage: the stage's name.
        code: the fingerprint of the stage's code and cachers.
        inputs: input name to the key of the artifact the stage read.
        outputs: output name to `{"files": {relative path: [size, mtime_ns, hash]},
            "bundle": uuid or None, "cacher": class name}`.
        run_id: the experiment run that computed it.
        created_at: ISO 8601 UTC time it was recorded.
    """

    key: str
    prefix: str
    record_hash: str
    stage: str
    code: str
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_id: str | None = None
    created_at: str = ""

    def row(self) -> tuple[Any, ...]:
        """The values of the `experiment_cache` row."""
        return (
            self.key, self.prefix, self.record_hash, self.stage, self.code,
            dumps_compact(self.inputs),
            dumps_compact(self.outputs),
            self.run_id, normalize_timestamp(self.created_at),
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CacheRow:
        """A cache row from the columns of `experiment_cache`."""
        return cls(
            key=row[0], prefix=row[1], record_hash=row[2], stage=row[3], code=row[4],
            inputs=json.loads(row[5]), outputs=json.loads(row[6]), run_id=row[7], created_at=row[8],
        )

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-able values (for a cache index file)."""
        return dict(vars(self))


class ExperimentIndex:
    """The experiment tables of one catalog database.

    Args:
        database: the catalog's database (`SQLiteCatalog.database`).
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- the registry --------------------------------------------------------------------

    def register_run(self, entry: RunEntry) -> int:
        """Give `entry` the next run number of its experiment and record it, in one transaction.

        `entry.dag` names the experiment; `entry.run_id` may contain `{number}`,
        replaced by the number taken. The first run of an experiment whose
        counter is missing (a catalog rebuilt from run folders) continues after
        the runs already recorded for it.

        Returns:
            The run number.
        """

        def work(connection: sqlite3.Connection) -> int:
            row = connection.execute(
                "SELECT last_number FROM experiment_counters WHERE experiment = ?", (entry.dag,)
            ).fetchone()
            first = 1
            if row is None:
                first += connection.execute(
                    "SELECT count(*) FROM runs WHERE dag = ? AND kind = 'experiment'", (entry.dag,)
                ).fetchone()[0]
            number = int(connection.execute(_NEXT_NUMBER, (entry.dag, first)).fetchone()[0])
            entry.run_id = entry.run_id.replace("{number}", str(number))
            entry.record.setdefault("run_info", {})["run_number"] = number
            write_runs(connection, (entry,))
            return number

        return self.database.write(work)

    def update_run(self, entry: RunEntry) -> None:
        """Record the run again (its status, timings and record changed)."""
        self.database.write(lambda c: write_runs(c, (entry,)))

    # --- the stage cache -----------------------------------------------------------------

    def lookup(self, key: str) -> CacheRow | None:
        """The cached execution with cache key `key`, or None."""
        sql = f"SELECT {_CACHE_COLUMNS} FROM experiment_cache WHERE key = ?"
        connection = self.database.connection()
        # One indexed read, outside an explicit transaction: a statement is its own snapshot.
        try:
            row = connection.execute(sql, (key,)).fetchone()
        except sqlite3.Error as exc:
            raise self.database.error(exc, "read") from exc
        return None if row is None else CacheRow.from_row(row)

    def cached_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` have a cached execution (a few reads, whatever the number of keys)."""
        found: set[str] = set()

        def work(connection: sqlite3.Connection) -> None:
            for chunk in chunks(keys):
                sql = f"SELECT key FROM experiment_cache WHERE key IN ({marks(len(chunk))})"
                found.update(key for (key,) in connection.execute(sql, chunk))

        self.database.read(work)
        return found

    def latest(self, prefix: str, record_hash: str, stage: str) -> CacheRow | None:
        """The newest cached execution of `stage` for one parameter set, whatever its key."""
        sql = (
            f"SELECT {_CACHE_COLUMNS} FROM experiment_cache WHERE prefix = ? AND record_hash = ?"
            " AND stage = ? ORDER BY created_at DESC LIMIT 1"
        )
        row = self.database.read(lambda c: c.execute(sql, (prefix, record_hash, stage)).fetchone())
        return None if row is None else CacheRow.from_row(row)

    def record_cache(self, rows: Iterable[CacheRow], bundles: Iterable[BundleEntry]) -> int:
        """Record bundles (blobs already stored) and cache rows in one transaction; returns the rows."""

        entries = list(bundles)
        # One statement per table for the whole batch: a batch of thousands of
        # bundles costs a few executemany calls, not a few calls per bundle.
        # The same git block is on every bundle of a run: dump it once.
        dumped: dict[int, str | None] = {}

        def git_json(value: Any) -> str | None:
            key = id(value)
            if key not in dumped:
                dumped[key] = _dump(value)
            return dumped[key]

        bundle_rows = [
            (e.uuid, e.context, e.name, e.processing_name, e.owner, e.created_at, int(e.committed), 1,
             e.code_ref, git_json(e.git), None if e.timing is None else dumps_compact(e.timing),
             e.presentation, e.manifest_path)
            for e in entries
        ]
        tags = [(e.uuid, k, v) for e in entries for k, v in e.tags.items()]
        params = [(e.uuid, k, dumps_compact(v)) for e in entries for k, v in e.params.items()]
        edges = [(e.uuid, k, v) for e in entries for k, v in e.dependencies.items()]
        blobs = [(f.hash, f.size) for e in entries for f in e.files]
        files = [(e.uuid, *f) for e in entries for f in e.files]
        values = [row.row() for row in rows]

        def work(connection: sqlite3.Connection) -> int:
            connection.executemany(_INSERT_BUNDLE, bundle_rows)
            connection.executemany(_INSERT_TAG, tags)
            connection.executemany(_INSERT_PARAM, params)
            connection.executemany(_INSERT_EDGE, edges)
            connection.executemany(_INSERT_BLOB, blobs)
            connection.executemany(_INSERT_FILE, files)
            connection.executemany(_UPSERT_CACHE, values)
            return len(values)

        return self.database.write(work)

    def forget(self, keys: Iterable[str]) -> int:
        """Remove cache rows (their files are gone); returns how many."""
        values = [(key,) for key in keys]
        return self.database.write(
            lambda c: c.executemany("DELETE FROM experiment_cache WHERE key = ?", values).rowcount
        )
