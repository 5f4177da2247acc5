"""Where bundles live: the catalog index, the storage, and the project's local folders.

Closing a bundle writes, in this order: its blobs (content-addressed, skipped
when present), its manifest (the record the catalog can be rebuilt from, with
small payloads inline: a line of this process's segment on storage with local
files, else a JSON file of its own; see `tether.bundles.segments`), then one
catalog transaction that makes it visible. Nothing is fsynced and there is no
commit per file: a crash before the transaction leaves at most unreferenced
blobs and a complete manifest that `rebuild` would index, never a visible
partial bundle.

Removing bundles runs the other way: the catalog first, then the manifests
(a segment line is marked removed, and a segment nothing refers to any more is
deleted), then the blobs no bundle references any more.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tether.bundles.blobs import BlobStore, digest_bytes
from tether.bundles.decoding import Decoder
from tether.bundles.errors import BundleCorruptError, BundleDataError, BundleError, ContextNotFoundError
from tether.bundles.files import PendingFile, tether_dir
from tether.bundles.segments import SegmentWriter, collect_segments, mark_removed, read_segment_line
from tether.catalog import default_catalog
from tether.catalog.bundle_index import BundleIndex
from tether.catalog.bundle_records import (
    BundleEntry,
    FileEntry,
    commit_marker_path,
    context_dir,
    context_marker_path,
    split_segment_ref,
    validate_context_name,
)
from tether.catalog.errors import CatalogError
from tether.conf import settings
from tether.files.storages import BaseStorage, StorageError, StorageNotFoundError, default_storage

__all__ = ["DEFAULT_CONTEXT", "INLINE_LIMIT", "BundleStore", "current_store", "label"]

DEFAULT_CONTEXT = "default"
INLINE_LIMIT = 32 * 1024
DATA_PREFIX = ".data/"

_cached: tuple[int, BundleStore] | None = None


def label(entry: BundleEntry) -> str:
    """`'name' (uuid)` of a bundle, for messages."""
    return f"{entry.name!r} ({entry.uuid})"


def current_store() -> BundleStore:
    """The store the current settings describe (`default_catalog`, `default_storage`, `BASE_DIR`)."""
    global _cached
    generation = settings.generation
    if _cached is None or _cached[0] != generation:
        _cached = (
            generation,
            BundleStore(
                default_catalog.bundles,
                default_storage,
                base_dir=settings.BASE_DIR,
                allow_pickle=bool(settings.ALLOW_PICKLE),
            ),
        )
    return _cached[1]


class BundleStore:
    """Bundles of one catalog and one storage.

    Args:
        index: the catalog's bundle index.
        storage: where manifests and blobs are kept.
        base_dir: the project folder (local staging, cache and current context).
        allow_pickle: whether data may be pickled and unpickled.
    """

    def __init__(self, index: BundleIndex, storage: BaseStorage, *, base_dir: str, allow_pickle: bool) -> None:
        self.index = index
        self.storage = storage
        self.blobs = BlobStore(storage)
        self.base_dir = os.fspath(base_dir)
        self.local_dir = tether_dir(self.base_dir)
        self.allow_pickle = allow_pickle
        self.segments = SegmentWriter(storage, index)
        self._contexts: set[str] = set()

    # --- contexts ----------------------------------------------------------------------

    def create_context(self, name: str) -> bool:
        """Create data context `name` in the catalog and in storage; False if it existed."""
        try:
            validate_context_name(name)
        except CatalogError as exc:
            raise BundleError(str(exc)) from None
        created = self.index.create_context(name)
        marker = context_marker_path(name)
        if created or not self.storage.isfile(marker):
            context = self.index.get_context(name)
            when = context.created_at if context else datetime.now(timezone.utc).isoformat()
            self.storage.touch(marker, json.dumps({"name": name, "created_at": when, "remote_url": None}))
        self._contexts.add(name)
        return created

    def require_context(self, name: str, *, create_default: bool = False) -> str:
        """Return `name` if the context exists (the default one is created when writing).

        Raises:
            ContextNotFoundError: it does not exist.
        """
        if name in self._contexts:
            return name
        if self.index.get_context(name) is not None:
            self._contexts.add(name)
            return name
        if name == DEFAULT_CONTEXT and create_default:
            self.create_context(name)
            return name
        raise ContextNotFoundError(
            f"no data context {name!r}; create it with tether.bundles.context({name!r}) or"
            " `tether context`, or pick one from tether.bundles.ls_contexts()"
        )

    def forget_contexts(self) -> None:
        """Drop what this process remembers of existing contexts (after a rebuild)."""
        self._contexts.clear()

    def exists_context(self, name: str) -> bool:
        """Whether data context `name` exists."""
        return name in self._contexts or self.index.get_context(name) is not None

    def forget_context(self, name: str) -> tuple[list[BundleEntry], list[str]]:
        """Remove context `name`, its bundles, manifests, and blobs no other bundle uses."""
        entries, hashes = self.index.remove_context(name)
        self._contexts.discard(name)
        self.storage.rm(context_dir(name), recursive=True, missing_ok=True)
        self.index.collect_blobs(hashes, self.blobs.delete)
        for entry in entries:
            self._drop_cache(entry.uuid)
        return entries, hashes

    @property
    def current_context_file(self) -> str:
        """The file that holds the project's current data context."""
        return os.path.join(self.local_dir, "current_context")

    def read_current_context(self) -> str:
        """The current data context of the project (`default` if none was switched to)."""
        try:
            with open(self.current_context_file, encoding="utf-8") as handle:
                return handle.read().strip() or DEFAULT_CONTEXT
        except FileNotFoundError:
            return DEFAULT_CONTEXT

    def write_current_context(self, name: str) -> None:
        """Make `name` the project's current data context (written atomically)."""
        os.makedirs(self.local_dir, exist_ok=True)
        temp = f"{self.current_context_file}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
        os.replace(temp, self.current_context_file)

    # --- writing ---------------------------------------------------------------------------

    def persist(
        self,
        entry: BundleEntry,
        node: dict[str, Any],
        payloads: dict[str, bytes],
        files: Iterable[PendingFile],
    ) -> None:
        """Write a closed bundle: blobs, then its manifest, then its catalog rows.

        Raises:
            BundleError: storage or the catalog cannot be written (nothing is visible).
        """
        inline: dict[str, str] = {}
        sources: dict[str, bytes | PendingFile] = {}
        try:
            for digest, data in payloads.items():
                if len(data) <= INLINE_LIMIT:
                    inline[digest] = base64.b64encode(data).decode("ascii")
                    continue
                self.blobs.put_bytes(digest, data)
                sources[digest] = data
                entry.files.append(FileEntry(DATA_PREFIX + digest, digest, len(data)))
            for pending in files:
                self.blobs.put_from(pending.hash, pending.open, what=f"file {pending.path!r}")
                sources.setdefault(pending.hash, pending)
                entry.files.append(FileEntry(pending.path, pending.hash, pending.size))
            manifest = {**entry.manifest_fields(), "data": node, "inline": inline}
            self.write_manifests([entry], [json.dumps(manifest, separators=(",", ":"), allow_nan=False)])
        except BundleDataError as exc:
            raise BundleDataError(f"bundle {label(entry)}: {exc}") from None
        except (StorageError, OSError) as exc:
            raise BundleError(f"cannot write bundle {label(entry)} to storage {self.storage.root}: {exc}") from exc

        def check_blob(file: FileEntry) -> None:
            if self.blobs.exists(file.hash):
                return
            source = sources[file.hash]
            if isinstance(source, bytes):
                self.storage.touch(self.blobs.path(file.hash), source)
            else:
                self.blobs.put_from(file.hash, source.open, what=f"file {file.path!r}")

        try:
            self.index.add(entry, check_blob=check_blob)
        except BaseException as exc:
            try:
                self.drop_manifest(entry)
            except StorageError:
                pass
            if isinstance(exc, CatalogError):
                raise BundleError(f"cannot record bundle {label(entry)}: {exc}") from exc
            raise

    def write_manifests(self, entries: list[BundleEntry], texts: list[str]) -> None:
        """Write the manifests of closed bundles of one context, setting each entry's `manifest_path`.

        On storage with local files they are appended to this process's segment in
        one write; elsewhere each is a file of its own, at `entry.home`.

        Raises:
            OSError, StorageError: storage cannot be written.
        """
        if self.segments.enabled and entries:
            refs = self.segments.append(entries[0].context, [text.encode("utf-8") for text in texts])
            for entry, ref in zip(entries, refs):
                entry.manifest_path = ref
            return
        for entry, text in zip(entries, texts):
            entry.manifest_path = entry.home
            self.storage.touch(entry.manifest_path, text)

    def drop_manifest(self, entry: BundleEntry) -> None:
        """Delete a bundle's manifest, or mark its segment line removed."""
        if split_segment_ref(entry.manifest_path) is not None:
            mark_removed(self.storage, entry.home, entry.manifest_path)
        elif entry.manifest_path:
            self.storage.rm(entry.manifest_path, missing_ok=True)

    def commit(self, entries: Iterable[BundleEntry]) -> int:
        """Set the commit flag of bundles: a marker beside each manifest, then the catalog."""
        todo = [entry for entry in entries if not entry.committed]
        stamp = json.dumps({"committed_at": datetime.now(timezone.utc).isoformat()})
        for entry in todo:
            self.storage.touch(commit_marker_path(entry.home), stamp)
        changed = self.index.set_committed([entry.uuid for entry in todo])
        for entry in todo:
            entry.committed = True
        return changed

    def remove(self, entries: Iterable[BundleEntry]) -> list[str]:
        """Remove bundles: catalog rows, manifests and commit flags, then unused blobs.

        Returns:
            The hashes of the blobs deleted.
        """
        entries = list(entries)
        hashes = self.index.remove(entry.uuid for entry in entries)
        for entry in entries:
            self.drop_manifest(entry)
            self.storage.rm(commit_marker_path(entry.home), missing_ok=True)
            self._drop_cache(entry.uuid)
        # Segments of processes that ended without deleting theirs (killed, or
        # multiprocessing workers, which skip exit handlers) go here too.
        collect_segments(self.storage, self.index, {entry.context for entry in entries})
        return self.index.collect_blobs(hashes, self.blobs.delete)

    # --- reading ---------------------------------------------------------------------------

    def manifest_bytes(self, entry: BundleEntry) -> bytes:
        """The raw manifest of a bundle, from its file or its segment line.

        Raises:
            BundleCorruptError: it is missing from storage.
        """
        try:
            if split_segment_ref(entry.manifest_path) is not None:
                return read_segment_line(self.storage, entry.manifest_path)
            data = self.storage.read(entry.manifest_path)
        except StorageNotFoundError:
            raise BundleCorruptError(
                f"bundle {label(entry)}: its manifest {entry.manifest_path} is missing from storage;"
                " remove the bundle, or run `tether catalog rebuild`"
            ) from None
        assert isinstance(data, bytes)
        return data

    def manifest(self, entry: BundleEntry) -> dict[str, Any]:
        """The manifest of a bundle, read from storage.

        Raises:
            BundleCorruptError: it is missing or does not describe this bundle.
        """
        try:
            data = json.loads(self.manifest_bytes(entry))
        except ValueError as exc:
            raise BundleCorruptError(f"bundle {label(entry)}: its manifest is not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("uuid") != entry.uuid:
            raise BundleCorruptError(f"bundle {label(entry)}: {entry.manifest_path} describes another bundle")
        return data

    def load(self, entry: BundleEntry) -> Any:
        """The data of a closed bundle, every payload and file verified."""
        manifest = self.manifest(entry)
        inline = manifest.get("inline") or {}
        name = label(entry)
        cache = os.path.join(self.local_dir, "cache", entry.uuid)

        def payload(ref: dict[str, Any]) -> bytes:
            digest = ref["hash"]
            if digest in inline:
                data = base64.b64decode(inline[digest])
                if digest_bytes(data) != digest:
                    raise BundleCorruptError(f"bundle {name}: its data changed in the manifest (hash mismatch)")
                return data
            return self.blobs.read(digest, bundle=name, what="data")

        def file(path: str, digest: str, size: int) -> Path:
            dest = os.path.join(cache, *path.split("/"))
            self.blobs.materialize(digest, dest, bundle=name, what=f"file {path!r}")
            return Path(dest)

        def folder(path: str, files: list[list[Any]], empty: list[str]) -> Path:
            top = os.path.join(cache, *path.split("/"))
            expected = {os.path.join(top, *relative.split("/")) for relative, _, _ in files}
            _prune(top, expected, {os.path.join(top, *e.split("/")) for e in empty})
            for relative, digest, _ in files:
                dest = os.path.join(top, *relative.split("/"))
                self.blobs.materialize(digest, dest, bundle=name, what=f"file {path}/{relative!r}")
            for relative in empty:
                os.makedirs(os.path.join(top, *relative.split("/")), exist_ok=True)
            os.makedirs(top, exist_ok=True)
            return Path(top)

        decoder = Decoder(payload=payload, file=file, folder=folder, allow_pickle=self.allow_pickle, bundle=name)
        return decoder.decode(manifest["data"])

    def _drop_cache(self, uuid: str) -> None:
        shutil.rmtree(os.path.join(self.local_dir, "cache", uuid), ignore_errors=True)


def _prune(top: str, files: set[str], empty: set[str]) -> None:
    """Delete what a cached folder holds beyond the bundle's files (a user's edits)."""
    if not os.path.isdir(top):
        return
    for folder, dirs, names in os.walk(top, topdown=False):
        for name in names:
            path = os.path.join(folder, name)
            if path not in files:
                os.unlink(path)
        for name in dirs:
            path = os.path.join(folder, name)
            if path not in empty and not os.listdir(path):
                os.rmdir(path)
