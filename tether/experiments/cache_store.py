"""The stage cache of a run: lookups by cache key, and outputs filed as bundles in batches.

A stage's cache key finds its row with one indexed catalog read; the row names
the output files relative to the cache folder, with their size, modification
time and content hash, so a file that was overwritten since (another key wrote
the same path) is never taken for the cached one. A cache folder may carry its
own `cache_index.json` (a `--store-full` folder does), which is read first, so
such a folder reproduces a run without the catalog it came from.

Outputs are written by their cachers as the stage ends; the bundles that hold
them and the cache rows are recorded in one transaction per batch (at the end
of the run, or every `FILER_BATCH` executions, filed by a forked filer while the
stages go on, see `tether.experiments.filing`; every `BATCH` where there is no
filer): a bundle per output, in the `experiments` data context, named
`<prefix>.<stage>.<output>`, with lineage to the bundles of the stage's inputs.
A run killed before the batch is recorded leaves cache files no row points at,
which the next run recomputes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime, timezone
from stat import S_ISDIR
from typing import TYPE_CHECKING, Any

from tether.catalog.bundle_records import BundleEntry, FileEntry, blob_path
from tether.catalog.bundle_index import BundleIndex
from tether.catalog.experiments import CacheRow, ExperimentIndex
from tether.conf import settings
from tether.experiments.caching import ensure_folder
from tether.experiments.filing import BackgroundFiler, can_fork_filer
from tether.utils.jsontext import dumps_compact

if TYPE_CHECKING:
    from tether.experiments.manager import ArtifactManager

__all__ = ["BUNDLE_CONTEXT", "INDEX_FILE", "CacheStore", "PendingExecution", "file_state"]

BUNDLE_CONTEXT = "experiments"
INDEX_FILE = "cache_index.json"
BATCH = 512
# Smaller with a filer: the last batch is filed while the run waits.
FILER_BATCH = 128

logger = logging.getLogger("tether.experiments")


def file_state(path: str) -> tuple[int, int] | None:
    """`(size, mtime_ns)` of a file, or None if it is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


@dataclass
class PendingExecution:
    """A stage execution whose outputs were saved, waiting to be recorded.

    Attributes:
        row: the cache row (outputs filled when recorded).
        files: output name to the absolute paths its cacher (and the stage) wrote.
        types: output name to the type name of its value.
        dependencies: argument name to the uuid of an input's bundle.
        bundles: output name to the uuid its bundle will have.
        git: `{"repo", "commit", "branch"}` of the code.
        timing: `(start, stop)` epoch seconds.
        known: `(size, mtime_ns, hash)` of files, as their cachers wrote them.
    """

    row: CacheRow
    files: dict[str, list[str]]
    types: dict[str, str]
    dependencies: dict[str, str]
    bundles: dict[str, str] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    timing: tuple[float, float] = (0.0, 0.0)
    known: dict[str, tuple[int, int, str]] = field(default_factory=dict)


class CacheStore:
    """Cache lookups and batched registration for one manager."""

    def __init__(self, manager: ArtifactManager) -> None:
        self.manager = manager
        # Read once: the setting is looked up through the settings proxy, which costs per stage.
        self.bundles = bool(settings.EXPERIMENTS_BUNDLES)
        self.pending: list[PendingExecution] = []
        self._pending_rows: dict[str, CacheRow] = {}
        self._folder_index: dict[str, dict[str, Any]] | None = None
        self._index: ExperimentIndex | None = None
        self._writer_instance: _Writer | None = None
        self._asked: set[str] = set()
        self._catalog_keys: set[str] = set()
        self._filer: BackgroundFiler | None = None
        self._filer_tried = False
        self.batch_size = FILER_BATCH

    @property
    def index(self) -> ExperimentIndex:
        """The catalog's experiment tables."""
        if self._index is None:
            from tether.catalog import default_catalog

            self._index = ExperimentIndex(default_catalog.database)  # type: ignore[attr-defined]
        return self._index

    # --- lookups -------------------------------------------------------------------------

    def folder_index(self) -> dict[str, dict[str, Any]]:
        """The `cache_index.json` of the cache folder (empty if it has none)."""
        if self._folder_index is None:
            path = os.path.join(self.manager.cache_path, INDEX_FILE)
            try:
                with open(path, encoding="utf-8") as handle:
                    self._folder_index = dict(json.load(handle))
            except (OSError, ValueError):
                self._folder_index = {}
        return self._folder_index

    def lookup(self, key: str) -> CacheRow | None:
        """The cache row of `key` whose files are all present and unchanged, or None."""
        row = self._pending_rows.get(key)
        if row is not None:
            return row
        data = self.folder_index().get(key)
        if data is not None:
            row = CacheRow(**data)
        elif key in self._asked and key not in self._catalog_keys:
            return None
        else:
            row = self.index.lookup(key)
        if row is None or not self.valid(row):
            return None
        return row

    def prefetch(self, keys: list[str]) -> None:
        """Learn at once which of `keys` the catalog has, so that looking up the others reads nothing.

        A mapped run checks every stage it needs; in a first run none is cached, and
        one read per thousand keys replaces one per stage.
        """
        self._asked.update(keys)
        self._catalog_keys.update(self.index.cached_keys(keys))

    def valid(self, row: CacheRow) -> bool:
        """Whether every file of `row` is in the cache folder with the recorded content."""
        folder = self.manager.cache_path
        for output in row.outputs.values():
            for relative, (size, mtime, digest) in output.get("files", {}).items():
                path = os.path.join(folder, relative)
                state = file_state(path)
                if state is None or state[0] != size:
                    return False
                if state[1] != mtime:
                    from tether.bundles.blobs import digest_file

                    if digest_file(path)[0] != digest:
                        return False
        return True

    def latest(self, record_hash: str, stage: str) -> CacheRow | None:
        """The newest cached execution of a stage for one record, whatever its key."""
        return self.index.latest(self.manager.cache_prefix, record_hash, stage)

    # --- registration --------------------------------------------------------------------

    def add(self, pending: PendingExecution) -> None:
        """Queue a saved execution; it is found by `lookup` at once, and recorded by `flush` at the latest.

        Every `batch_size` executions the batch is filed: its blobs and manifests
        are written and it is recorded in one transaction, by a forked filer while
        the stages go on where the machine allows (`tether.experiments.filing`),
        else here. (A thread was slower than filing here: the stages then waited
        for the interpreter lock after each file they wrote.)
        """
        if self.bundles:
            for name in pending.files:
                pending.bundles[name] = _new_uuid()
        pending.row.outputs = {
            name: {"files": {}, "bundle": pending.bundles.get(name), "type": pending.types.get(name, "")}
            for name in pending.files
        }
        self.pending.append(pending)
        self._pending_rows[pending.row.key] = pending.row
        # A live manager (a notebook) has no end of run to wait for: it files at once.
        if self.manager.interactive:
            self.flush()
        elif len(self.pending) >= self.batch_size:
            self._send()

    def _prepare(self, item: PendingExecution) -> list[tuple[Any, str]]:
        """The bundles of an execution's outputs with their manifests (none without EXPERIMENTS_BUNDLES)."""
        if not self.bundles:
            _index_files(item, self.manager.cache_path)
            return []
        writer = self._writer()
        now = datetime.now(timezone.utc).isoformat()
        return [writer.bundle(item, name, paths, now, self.manager) for name, paths in item.files.items()]

    def _writer(self) -> _Writer:
        if self._writer_instance is None:
            from tether.bundles.store import current_store

            store = current_store()
            if BUNDLE_CONTEXT not in store._contexts and not store.exists_context(BUNDLE_CONTEXT):
                store.create_context(BUNDLE_CONTEXT)
            store._contexts.add(BUNDLE_CONTEXT)
            self._writer_instance = _Writer(store)
        return self._writer_instance

    def flush(self) -> None:
        """File every queued execution and wait until all are recorded.

        Raises:
            CatalogError: the catalog refused the batch (the cache files stay; a
                later run recomputes them).
        """
        batch, self.pending = self.pending, []
        try:
            # The last batch is filed here, while the filer finishes the one before.
            if batch:
                self.file_batch(batch)
                self._filed([batch])
        finally:
            self._stop_filer()

    def _send(self) -> None:
        """File the queued batch: through the filer (forked at the first batch), or here."""
        batch, self.pending = self.pending, []
        if self._filer is None and not self._filer_tried:
            self._filer_tried = True
            if not self.manager.parallel_mode and can_fork_filer():
                self._writer()  # made once, before the fork, for both processes
                try:
                    self._filer = BackgroundFiler(self)
                except OSError as exc:  # no process or pipe to spare: the run files its batches
                    logger.info("no filer for this run (%s); its batches are filed as it goes", exc)
        if self._filer is None:
            self.batch_size = BATCH
            self.file_batch(batch)
            self._filed([batch])
            return
        self._filed(self._filer.submit(batch))
        if self._filer.broken:
            # The filer is gone: file what it left here, and the rest of the run too.
            self._stop_filer()
            self.batch_size = BATCH

    def _stop_filer(self) -> None:
        """Wait for the filer to file what it was sent, and file here what it could not."""
        filer, self._filer = self._filer, None
        if filer is None:
            return
        done, left = filer.finish()
        self._filed(done)
        for sent in left:
            self._file_again(sent)

    def file_batch(self, batch: list[PendingExecution]) -> None:
        """Write the blobs and manifests of `batch` and record it in one transaction."""
        made = [pair for item in batch for pair in self._prepare(item)]
        entries = [entry for entry, _ in made]
        if made:
            # One append where storage allows, before the transaction that makes them visible.
            self._writer().store.write_manifests(entries, [text for _, text in made])
        self.index.record_cache([item.row for item in batch], entries)

    def _file_again(self, batch: list[PendingExecution]) -> None:
        """File a batch a failed filer did not acknowledge, less what it recorded before it failed."""
        uuids = [uuid for item in batch for uuid in item.bundles.values()]
        recorded = BundleIndex(self.index.database).contexts_of(uuids) if uuids else {}
        rest = [item for item in batch if not item.bundles or not set(item.bundles.values()) <= recorded.keys()]
        if rest:
            self.file_batch(rest)
        self._filed([batch])

    def _filed(self, batches: list[list[PendingExecution]]) -> None:
        """Batches now in the catalog: their keys are looked up there from now on."""
        for batch in batches:
            for item in batch:
                self._pending_rows.pop(item.row.key, None)
                self._catalog_keys.add(item.row.key)

    def close_writer(self) -> None:
        """Close this process's manifest segments (a filer, before it exits)."""
        if self._writer_instance is not None:
            self._writer_instance.store.segments.close()

    def discard(self) -> None:
        """Forget queued executions (a dry run)."""
        self.pending.clear()
        self._pending_rows.clear()


def _file_facts(path: str, known: dict[str, tuple[int, int, str]]) -> tuple[int, int, str] | None:
    """`(size, mtime_ns, hash)` of a file: as its cacher wrote it if it is unchanged since, else read.

    None for a folder or a missing path.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if S_ISDIR(stat.st_mode):
        return None
    facts = known.get(path)
    if facts is not None and facts[0] == stat.st_size and facts[1] == stat.st_mtime_ns:
        return facts
    from tether.bundles.blobs import digest_file

    digest, size = digest_file(path)
    return size, stat.st_mtime_ns, digest


def _relative(path: str, folder: str) -> str:
    """`path` relative to `folder` (cheaply when it is inside)."""
    return path[len(folder) + 1:] if path.startswith(folder + os.sep) else os.path.relpath(path, folder)


def _index_files(item: PendingExecution, folder: str) -> None:
    """Fill the cache row's file list (size, mtime, hash) without filing bundles."""
    for name, paths in item.files.items():
        output = item.row.outputs[name]
        output["bundle"] = None
        for path in paths:
            facts = _file_facts(path, item.known)
            if facts is not None:
                output["files"][_relative(path, folder)] = list(facts)


def _new_uuid() -> str:
    """A random (version 4) UUID from `random`, which is seeded from the OS and reseeded after fork.

    `uuid.uuid4()` reads os.urandom for every id, which cost more than the rest of
    queueing an execution.
    """
    return str(uuid_module.UUID(int=random.getrandbits(128), version=4))


def _owner() -> str:
    from tether.bundles.bundle import _owner as owner

    return owner()


class _Writer:
    """Makes the bundles of cached outputs: blobs written straight to disk on local storage,
    manifests returned for the store to write in one go."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.local_root = store.storage.local_path("")
        self.owner = _owner()
        # Blobs this run stored or found (outputs often repeat: a stage's result for many parameter sets).
        self.stored: set[str] = set()

    def put_blob(self, path: str, digest: str) -> None:
        """Copy a cache file into the blob store (unless that content is there already).

        A copy, not a hard link: a cache file may be rewritten in place (by a stage
        writing `record.get_path(...)` again, a user's cacher, or by hand), which
        must never change a stored bundle.
        """
        if self.local_root is None:
            self.store.blobs.put_from(digest, lambda: open(path, "rb"), what=f"file {path!r}")
            return
        if digest in self.stored:
            return
        target = os.path.join(self.local_root, blob_path(digest))
        if not os.path.exists(target):
            ensure_folder(os.path.dirname(target))
            temp = f"{target}.{os.getpid()}.tmp"
            shutil.copyfile(path, temp)
            os.replace(temp, target)
        self.stored.add(digest)

    def bundle(self, item: PendingExecution, name: str, paths: list[str], now: str, manager: Any) -> tuple[Any, str]:
        """Store output `name`'s files as blobs; returns its `BundleEntry` and manifest text.

        Also fills the output's file list (size, mtime, hash) in the cache row.
        """
        row = item.row
        folder = manager.cache_path
        files = row.outputs[name]["files"]
        entries: list[FileEntry] = []
        nodes: list[dict[str, Any]] = []
        taken: set[str] = set()
        for path in paths:
            facts = _file_facts(path, item.known)
            if facts is None:
                continue
            size, mtime, digest = facts
            inside = os.path.basename(path)
            number = 1
            while inside in taken:
                number += 1
                inside = f"{number}/{os.path.basename(path)}"
            taken.add(inside)
            self.put_blob(path, digest)
            files[_relative(path, folder)] = [size, mtime, digest]
            entries.append(FileEntry(inside, digest, size))
            nodes.append({"type": "file", "path": inside, "hash": digest, "size": size})
        node = nodes[0] if len(nodes) == 1 else {"type": "list", "items": nodes}
        bundle_name = f"{row.prefix}.{row.stage}.{name}"
        uuid = item.bundles[name]
        entry = BundleEntry(
            uuid=uuid,
            context=BUNDLE_CONTEXT,
            name=bundle_name,
            created_at=now,
            processing_name=f"{bundle_name}_{row.key[:16]}",
            owner=self.owner,
            code_ref=row.stage,
            git=item.git,
            timing={"start": item.timing[0], "stop": item.timing[1]},
            presentation=item.types.get(name, ""),
            tags={
                "experiment": manager.experiment_name,
                "stage": row.stage,
                "record": row.record_hash,
            },
            params={"code": row.code},
            dependencies=dict(item.dependencies),
            files=entries,
        )
        manifest = {**entry.manifest_fields(), "data": node, "inline": {}}
        return entry, dumps_compact(manifest)
