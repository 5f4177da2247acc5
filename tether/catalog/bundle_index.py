"""The catalog's index of data bundles: contexts, bundles, tags, params, files and lineage.

Every value reaches SQLite as a bound parameter (the queries are built in
`bundle_query`). Blob rows follow one rule that keeps concurrent writers and
removals safe: a blob that some bundle references exists in storage. A writer
whose blob no bundle references yet checks it in storage while it holds the
write lock (`check_blob`), and a removal deletes a blob's file only while it
holds the lock and only if no bundle references it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import islice

from tether.catalog.bundle_lineage import chunks, marks, walk
from tether.catalog.bundle_query import COLUMNS, find_query, glob_pattern
from tether.catalog.bundle_records import (
    BUNDLE_COLUMNS,
    BundleEntry,
    ContextEntry,
    FileEntry,
    LineageRecord,
    _dump,
    validate_context_name,
)
from tether.catalog.connection import Database
from tether.catalog.errors import CatalogError
from tether.catalog.records import normalize_timestamp

__all__ = ["BundleIndex", "glob_pattern"]

_INSERT_BUNDLE = f"INSERT INTO bundles ({BUNDLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_TAG = "INSERT INTO bundle_tags (uuid, key, value) VALUES (?, ?, ?)"
_INSERT_PARAM = "INSERT INTO bundle_params (uuid, key, value) VALUES (?, ?, ?)"
_INSERT_EDGE = "INSERT INTO lineage (uuid, arg_name, depends_on_uuid) VALUES (?, ?, ?)"
_INSERT_BLOB = "INSERT INTO blobs (hash, size) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING"
_INSERT_FILE = "INSERT INTO bundle_files (uuid, path, hash, size) VALUES (?, ?, ?, ?)"


def _insert_entry(connection: sqlite3.Connection, entry: BundleEntry) -> None:
    try:
        connection.execute(_INSERT_BUNDLE, entry.row())
    except sqlite3.IntegrityError as exc:
        if "FOREIGN KEY" in str(exc):
            raise CatalogError(
                f"data context {entry.context!r} does not exist; create it with"
                f" tether.bundles.context({entry.context!r})"
            ) from None
        raise CatalogError(f"a bundle with uuid {entry.uuid} is already in the catalog; give a new uuid") from None
    uuid = entry.uuid
    if entry.tags:
        connection.executemany(_INSERT_TAG, [(uuid, k, v) for k, v in entry.tags.items()])
    if entry.params:
        connection.executemany(_INSERT_PARAM, [(uuid, k, _dump(v)) for k, v in entry.params.items()])
    if entry.dependencies:
        connection.executemany(_INSERT_EDGE, [(uuid, k, v) for k, v in entry.dependencies.items()])


class BundleIndex:
    """The bundle tables of one catalog database.

    Args:
        database: the catalog's database (`SQLiteCatalog.database`).
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- contexts ----------------------------------------------------------------------

    def create_context(self, name: str, *, created_at: str | datetime | None = None) -> bool:
        """Record data context `name`; returns False if it already existed.

        Raises:
            CatalogError: `name` cannot name a context.
        """
        validate_context_name(name)
        when = normalize_timestamp(created_at or datetime.now(timezone.utc))
        return self.database.write(
            lambda c: c.execute(
                "INSERT INTO contexts (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, when),
            ).rowcount
            > 0
        )

    def get_context(self, name: str) -> ContextEntry | None:
        """The context `name`, or None."""
        sql = "SELECT name, created_at, remote_url, remote_context FROM contexts WHERE name = ?"
        row = self.database.read(lambda c: c.execute(sql, (name,)).fetchone())
        return None if row is None else ContextEntry(*row)

    def list_contexts(self) -> list[ContextEntry]:
        """Every context, by name."""
        sql = "SELECT name, created_at, remote_url, remote_context FROM contexts ORDER BY name"
        return self.database.read(lambda c: [ContextEntry(*row) for row in c.execute(sql)])

    def remove_context(self, name: str) -> tuple[list[BundleEntry], list[str]]:
        """Forget context `name` and all its bundles, in one transaction.

        Returns:
            The bundles it held (without tags and the rest), and the blob
            hashes they referenced, for `collect_blobs`.
        """

        def work(c: sqlite3.Connection) -> tuple[list[BundleEntry], list[str]]:
            rows = c.execute(f"SELECT {COLUMNS} FROM bundles b WHERE b.context = ?", (name,)).fetchall()
            hashes = [
                h
                for (h,) in c.execute(
                    "SELECT DISTINCT f.hash FROM bundles b JOIN bundle_files f ON f.uuid = b.uuid"
                    " WHERE b.context = ?",
                    (name,),
                )
            ]
            c.execute("DELETE FROM bundles WHERE context = ?", (name,))
            c.execute("DELETE FROM contexts WHERE name = ?", (name,))
            return [BundleEntry.from_row(row) for row in rows], hashes

        return self.database.write(work)

    # --- writing -------------------------------------------------------------------------

    def add(self, entry: BundleEntry, *, check_blob: Callable[[FileEntry], None] | None = None) -> None:
        """Record a closed bundle with its tags, params, lineage and files, in one transaction.

        Args:
            entry: the bundle.
            check_blob: called, with the write lock held, for each file whose
                blob no recorded bundle references yet; it must make sure the
                blob is in storage (or raise, which records nothing).

        Raises:
            CatalogError: the context does not exist, or the uuid is taken.
        """

        def work(c: sqlite3.Connection) -> None:
            _insert_entry(c, entry)
            self._insert_files(c, entry.uuid, entry.files, check_blob)

        self.database.write(work)

    def refers_to_segment(self, path: str) -> bool:
        """Whether a recorded bundle has its manifest in the segment at storage path `path`."""
        # `#` is the separator of a segment reference, and `$` the character after it.
        sql = "SELECT 1 FROM bundles WHERE manifest_path >= ? AND manifest_path < ? LIMIT 1"
        return self.database.read(lambda c: c.execute(sql, (f"{path}#", f"{path}$")).fetchone() is not None)

    def add_many(self, entries: Iterable[BundleEntry]) -> int:
        """Record many closed bundles in one transaction, trusting their blobs; returns how many.

        For bulk loads (a rebuild, a benchmark). Contexts must exist.
        """

        def work(c: sqlite3.Connection) -> int:
            count = 0
            for entry in entries:
                _insert_entry(c, entry)
                if entry.files:
                    c.executemany(_INSERT_BLOB, [(f.hash, f.size) for f in entry.files])
                    c.executemany(_INSERT_FILE, [(entry.uuid, *f) for f in entry.files])
                count += 1
            return count

        return self.database.write(work)

    def set_committed(self, uuids: Iterable[str], committed: bool = True) -> int:
        """Set the commit flag of bundles; returns how many changed."""
        values = list(uuids)

        def work(c: sqlite3.Connection) -> int:
            changed = 0
            for chunk in chunks(values):
                sql = f"UPDATE bundles SET committed = ? WHERE committed != ? AND uuid IN ({marks(len(chunk))})"
                changed += c.execute(sql, (int(committed), int(committed), *chunk)).rowcount
            return changed

        return self.database.write(work)

    def remove(self, uuids: Iterable[str]) -> list[str]:
        """Forget bundles with their tags, params, lineage and file rows, in one transaction.

        Returns:
            The blob hashes they referenced, for `collect_blobs`.
        """
        values = list(uuids)

        def work(c: sqlite3.Connection) -> list[str]:
            hashes: set[str] = set()
            for chunk in chunks(values):
                places = marks(len(chunk))
                hashes.update(h for (h,) in c.execute(f"SELECT hash FROM bundle_files WHERE uuid IN ({places})", chunk))
                c.execute(f"DELETE FROM bundles WHERE uuid IN ({places})", chunk)
            return sorted(hashes)

        return self.database.write(work)

    def collect_blobs(self, hashes: Iterable[str], delete: Callable[[str], None]) -> list[str]:
        """Delete the blobs among `hashes` that no bundle references, with the write lock held.

        Args:
            hashes: candidate blob hashes (those of removed bundles).
            delete: removes one blob's file from storage; called with the lock held.

        Returns:
            The hashes whose blobs were deleted.
        """
        values = list(dict.fromkeys(hashes))
        if not values:
            return []

        def work(c: sqlite3.Connection) -> list[str]:
            referenced: set[str] = set()
            for chunk in chunks(values):
                sql = f"SELECT DISTINCT hash FROM bundle_files WHERE hash IN ({marks(len(chunk))})"
                referenced.update(h for (h,) in c.execute(sql, chunk))
            orphans = [h for h in values if h not in referenced]
            for chunk in chunks(orphans):
                c.execute(f"DELETE FROM blobs WHERE hash IN ({marks(len(chunk))})", chunk)
            for digest in orphans:
                delete(digest)
            return orphans

        return self.database.write(work)

    def replace_all(self, contexts: Iterable[ContextEntry], entries: Iterable[BundleEntry]) -> int:
        """Replace every context and bundle with these, in one transaction; returns the bundle count."""

        def work(c: sqlite3.Connection) -> int:
            for table in ("lineage", "bundle_params", "bundle_tags", "bundle_files", "bundles", "blobs", "contexts"):
                c.execute(f"DELETE FROM {table}")
            c.executemany(
                "INSERT INTO contexts (name, created_at, remote_url, remote_context) VALUES (?, ?, ?, ?)",
                [(ctx.name, ctx.created_at, ctx.remote_url, ctx.remote_context) for ctx in contexts],
            )
            count = 0
            iterator = iter(entries)
            while batch := list(islice(iterator, 1000)):
                for entry in batch:
                    _insert_entry(c, entry)
                    if entry.files:
                        c.executemany(_INSERT_BLOB, [(f.hash, f.size) for f in entry.files])
                        c.executemany(_INSERT_FILE, [(entry.uuid, *f) for f in entry.files])
                count += len(batch)
            return count

        return self.database.write(work)

    # --- reading -------------------------------------------------------------------------

    def find(
        self,
        context: str | None,
        *,
        name: str | None = None,
        pattern: str | None = None,
        uuid: str | None = None,
        processing_name: str | None = None,
        tags: dict[str, str] | None = None,
        committed: bool | None = None,
        intermediates: bool = False,
        roots: bool = False,
        before: str | datetime | None = None,
        after: str | datetime | None = None,
        latest: bool = False,
        limit: int | None = None,
        details: bool = True,
    ) -> list[BundleEntry]:
        """Bundles that match every filter given, newest first.

        Args:
            context: only bundles of this context (None: every context).
            name: exactly this name.
            pattern: a name pattern in which `*` matches any text.
            uuid: exactly this bundle.
            processing_name: exactly this processing name.
            tags: tags the bundle must all have (exact keys and values).
            committed: only committed (True) or uncommitted (False) bundles.
            intermediates: only bundles another recorded bundle was made from.
            roots: only bundles no recorded bundle was made from.
            before: only bundles created before this time.
            after: only bundles created at or after this time.
            latest: only the newest bundle of each name among the matches.
            limit: at most this many.
            details: also load tags, params, dependencies and files.
        """
        sql, values = find_query(
            context, name=name, pattern=pattern, uuid=uuid, processing_name=processing_name, tags=tags,
            committed=committed, intermediates=intermediates, roots=roots, before=before, after=after,
            latest=latest, limit=limit,
        )

        def work(c: sqlite3.Connection) -> list[BundleEntry]:
            entries = [BundleEntry.from_row(row) for row in c.execute(sql, values)]
            if details and entries:
                self._fill(c, entries)
            return entries

        return self.database.read(work)

    def get(self, uuid: str) -> BundleEntry | None:
        """The bundle `uuid` in any context, with its details, or None."""
        found = self.find(None, uuid=uuid)
        return found[0] if found else None

    def _fill(self, c: sqlite3.Connection, entries: list[BundleEntry]) -> None:
        by_uuid = {entry.uuid: entry for entry in entries}
        for chunk in chunks(list(by_uuid)):
            places = marks(len(chunk))
            for uuid, key, value in c.execute(
                f"SELECT uuid, key, value FROM bundle_tags WHERE uuid IN ({places})", chunk
            ):
                by_uuid[uuid].tags[key] = value
            for uuid, key, value in c.execute(
                f"SELECT uuid, key, value FROM bundle_params WHERE uuid IN ({places})", chunk
            ):
                by_uuid[uuid].params[key] = json.loads(value)
            for uuid, arg, upstream in c.execute(
                f"SELECT uuid, arg_name, depends_on_uuid FROM lineage WHERE uuid IN ({places})", chunk
            ):
                by_uuid[uuid].dependencies[arg] = upstream
            for uuid, path, digest, size in c.execute(
                f"SELECT uuid, path, hash, size FROM bundle_files WHERE uuid IN ({places})", chunk
            ):
                by_uuid[uuid].files.append(FileEntry(path, digest, size))
        for entry in entries:
            entry.tags = dict(sorted(entry.tags.items()))
            entry.params = dict(sorted(entry.params.items()))

    def count(self, context: str | None = None) -> int:
        """How many bundles `context` holds (every context's if None)."""
        if context is None:
            return self.database.read(lambda c: int(c.execute("SELECT count(*) FROM bundles").fetchone()[0]))
        sql = "SELECT count(*) FROM bundles WHERE context = ?"
        return self.database.read(lambda c: int(c.execute(sql, (context,)).fetchone()[0]))

    def holders(self, digest: str) -> list[str]:
        """The uuids of the bundles holding a file with content hash `digest`."""
        sql = "SELECT DISTINCT uuid FROM bundle_files WHERE hash = ?"
        return self.database.read(lambda c: [u for (u,) in c.execute(sql, (digest,))])

    # --- lineage -------------------------------------------------------------------------

    def lineage(self, uuid: str, max_depth: int | None = None) -> list[LineageRecord]:
        """The bundle `uuid` and everything it was made from, breadth-first, each bundle once.

        Args:
            uuid: the bundle to start from (depth 0).
            max_depth: stop after this many steps upstream (None: no limit).
        """
        return self._walk(uuid, max_depth, upstream=True)

    def downstream(self, uuid: str, max_depth: int | None = None) -> list[LineageRecord]:
        """The bundle `uuid` and everything made from it, breadth-first, each bundle once."""
        return self._walk(uuid, max_depth, upstream=False)

    def _walk(self, start: str, max_depth: int | None, *, upstream: bool) -> list[LineageRecord]:
        return self.database.read(lambda c: walk(c, start, max_depth, upstream=upstream))

    # --- remotes -------------------------------------------------------------------------

    def bind_remote(self, name: str, remote_url: str | None, remote_context: str | None) -> bool:
        """Record (or, with None, clear) the remote bound to context `name`; False if no such context."""
        sql = "UPDATE contexts SET remote_url = ?, remote_context = ? WHERE name = ?"
        return self.database.write(lambda c: c.execute(sql, (remote_url, remote_context, name)).rowcount > 0)

    def contexts_of(self, uuids: Iterable[str]) -> dict[str, str]:
        """uuid to data context of the bundles among `uuids` that the catalog holds."""
        values = list(dict.fromkeys(uuids))

        def work(c: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for chunk in chunks(values):
                sql = f"SELECT uuid, context FROM bundles WHERE uuid IN ({marks(len(chunk))})"
                found.update(c.execute(sql, chunk).fetchall())
            return found

        return self.database.read(work)

    def add_pulled(
        self, entries: Iterable[BundleEntry], *, check_blob: Callable[[FileEntry], None] | None = None
    ) -> int:
        """Record bundles pulled from a remote, in one transaction; returns how many.

        Like `add`, `check_blob` is called with the write lock held for each
        file whose blob no recorded bundle references yet.

        Raises:
            CatalogError: a context does not exist, or a uuid is taken.
        """
        entries = list(entries)

        def work(c: sqlite3.Connection) -> int:
            for entry in entries:
                _insert_entry(c, entry)
                self._insert_files(c, entry.uuid, entry.files, check_blob)
            return len(entries)

        return self.database.write(work)

    def add_files(
        self, uuid: str, files: Iterable[FileEntry], *, check_blob: Callable[[FileEntry], None] | None = None
    ) -> None:
        """Record files of bundle `uuid` whose blobs were fetched (a localized remote bundle)."""
        files = list(files)

        def work(c: sqlite3.Connection) -> None:
            present = {
                (path, digest)
                for path, digest in c.execute("SELECT path, hash FROM bundle_files WHERE uuid = ?", (uuid,))
            }
            self._insert_files(c, uuid, [f for f in files if (f.path, f.hash) not in present], check_blob)

        self.database.write(work)

    def remove_files(self, uuid: str, paths: Iterable[str] | None = None) -> list[str]:
        """Forget files of bundle `uuid` (all if `paths` is None); returns their hashes, for `collect_blobs`."""
        wanted = None if paths is None else list(paths)

        def work(c: sqlite3.Connection) -> list[str]:
            rows = c.execute("SELECT path, hash FROM bundle_files WHERE uuid = ?", (uuid,)).fetchall()
            chosen = [(p, h) for p, h in rows if wanted is None or p in wanted]
            c.executemany("DELETE FROM bundle_files WHERE uuid = ? AND path = ?", [(uuid, p) for p, _ in chosen])
            return sorted({h for _, h in chosen})

        return self.database.write(work)

    @staticmethod
    def _insert_files(
        c: sqlite3.Connection,
        uuid: str,
        files: list[FileEntry],
        check_blob: Callable[[FileEntry], None] | None,
    ) -> None:
        if not files:
            return
        unique = {f.hash: f for f in files}
        referenced: set[str] = set()
        for chunk in chunks(list(unique)):
            sql = f"SELECT DISTINCT hash FROM bundle_files WHERE hash IN ({marks(len(chunk))})"
            referenced.update(h for (h,) in c.execute(sql, chunk))
        for digest, file in unique.items():
            if digest not in referenced and check_blob is not None:
                check_blob(file)
        c.executemany(_INSERT_BLOB, [(f.hash, f.size) for f in unique.values()])
        c.executemany(_INSERT_FILE, [(uuid, f.path, f.hash, f.size) for f in files])
