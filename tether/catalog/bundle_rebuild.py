"""Re-creating the bundle index from the manifests in storage.

Storage holds, under `bundles/contexts/<context>/`, a `context.json` per data
context, the manifests of its closed bundles, and markers. A manifest is a file,
`bundles/<name>/<uuid>.json`, or a line of a segment, `segments/<id>.jsonl`
(see `tether.bundles.segments`); a torn last line of a segment is skipped.
Beside where a bundle's manifest file is or would be sit `<uuid>.committed` if
it was committed, `<uuid>.removed` listing its segment lines that were removed
(skipped here), and `<uuid>.remote` if it was pulled from a remote without (all)
its files: those files are left out of the index, whose rule is that an indexed
file's blob is in storage (they are recorded again when fetched). A rebuild
reads them all, then replaces the contexts and bundles of the catalog in one
write transaction: until then the old index stays in force, and a crash
half-way leaves it intact. Runs are not touched (`Catalog.rebuild` covers those).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tether.catalog.bundle_records import (
    COMMIT_SUFFIX,
    BLOBS_DIR,
    CONTEXT_FILE,
    CONTEXTS_DIR,
    REMOTE_SUFFIX,
    REMOVED_SUFFIX,
    BundleEntry,
    ContextEntry,
    marked_homes,
    parse_manifest_path,
    parse_removed,
    parse_segment_path,
    segment_lines,
    segment_ref,
)
from tether.catalog.errors import CatalogError
from tether.exceptions import StorageError

if TYPE_CHECKING:
    from tether.catalog.sqlite import SQLiteCatalog
    from tether.files.storages import BaseStorage

__all__ = ["BundleRebuildReport", "iter_manifests", "parse_manifest", "read_manifest", "rebuild_bundles"]


@dataclass
class BundleRebuildReport:
    """What `rebuild_bundles` found in storage.

    Attributes:
        contexts: data contexts recorded.
        bundles: bundles recorded.
        skipped: manifests that could not be read, with the reason.
    """

    contexts: int = 0
    bundles: int = 0
    skipped: list[str] = field(default_factory=list)


def _scan(storage: BaseStorage) -> list[str]:
    return storage.find(CONTEXTS_DIR) if storage.isdir(CONTEXTS_DIR) else []


def iter_manifests(storage: BaseStorage, paths: list[str] | None = None) -> Iterator[tuple[str, bool]]:
    """`(manifest path, committed)` of every bundle manifest in `storage` (or among `paths`, its listing)."""
    paths = _scan(storage) if paths is None else paths
    committed = marked_homes(paths, COMMIT_SUFFIX)
    for path in paths:
        if parse_manifest_path(path) is not None:
            yield path, path in committed


def read_manifest(storage: BaseStorage, path: str) -> dict:
    """The parsed manifest at `path`.

    Raises:
        CatalogError: it is not a JSON object.
        StorageError: it cannot be read.
    """
    return parse_manifest(storage.read(path), path)


def parse_manifest(text: bytes | str, where: str) -> dict:
    """A manifest's JSON object; `where` names it in errors.

    Raises:
        CatalogError: it is not a JSON object.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CatalogError(f"the bundle manifest {where} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"the bundle manifest {where} holds a {type(data).__name__}, not an object")
    return data


def remote_only(paths: list[str]) -> set[str]:
    """Manifest paths of bundles with files only on their remote (a `<uuid>.remote` beside them)."""
    return marked_homes(paths, REMOTE_SUFFIX)


def _local_files(storage: BaseStorage, entry: BundleEntry) -> None:
    """Keep only the files of a partly remote bundle whose blobs are in storage."""
    entry.files = [f for f in entry.files if storage.isfile(f"{BLOBS_DIR}/{f.hash[:2]}/{f.hash[2:]}")]


def _contexts(storage: BaseStorage) -> dict[str, ContextEntry]:
    found: dict[str, ContextEntry] = {}
    if not storage.isdir(CONTEXTS_DIR):
        return found
    for name in storage.ls(CONTEXTS_DIR)[1]:
        marker = f"{CONTEXTS_DIR}/{name}/{CONTEXT_FILE}"
        if not storage.isfile(marker):
            continue
        try:
            data = json.loads(storage.read(marker))
            found[name] = ContextEntry(
                name, str(data["created_at"]), data.get("remote_url"), data.get("remote_context")
            )
        except (ValueError, KeyError, TypeError, StorageError):
            continue
    return found


def _found_manifests(
    storage: BaseStorage, paths: list[str], committed_homes: set[str], report: BundleRebuildReport
) -> Iterator[tuple[str, str, BundleEntry]]:
    """`(where, context, entry)` of every readable manifest: files first, then segment lines not removed."""
    for path, committed in iter_manifests(storage, paths):
        context, uuid = parse_manifest_path(path)  # type: ignore[misc]
        try:
            entry = BundleEntry.from_manifest(read_manifest(storage, path), manifest_path=path, committed=committed)
            if entry.uuid != uuid or entry.context != context:
                raise CatalogError(f"it describes bundle {entry.uuid} of context {entry.context!r}")
        except (CatalogError, StorageError, ValueError, TypeError) as exc:
            report.skipped.append(f"{path}: {exc}")
            continue
        yield path, context, entry
    removed = _removed_refs(storage, paths)
    for path in paths:
        context = parse_segment_path(path)
        if context is None:
            continue
        try:
            data = storage.read(path)
        except StorageError as exc:
            report.skipped.append(f"{path}: {exc}")
            continue
        assert isinstance(data, bytes)
        for offset, line in segment_lines(data):
            ref = segment_ref(path, offset, len(line))
            if ref in removed:
                continue
            try:
                entry = BundleEntry.from_manifest(parse_manifest(line, ref), manifest_path=ref)
                if entry.context != context:
                    raise CatalogError(f"it describes a bundle of context {entry.context!r}")
            except (CatalogError, ValueError, TypeError) as exc:
                report.skipped.append(f"{ref}: {exc}")
                continue
            entry.committed = entry.home in committed_homes
            yield ref, context, entry


def _removed_refs(storage: BaseStorage, paths: list[str]) -> set[str]:
    """The segment lines that removal markers list."""
    removed: set[str] = set()
    for path in paths:
        if path.endswith(REMOVED_SUFFIX):
            try:
                removed.update(parse_removed(storage.read(path)))
            except StorageError:
                continue
    return removed


def rebuild_bundles(catalog: SQLiteCatalog, storage: BaseStorage) -> BundleRebuildReport:
    """Replace the contexts and bundles recorded in `catalog` with those in `storage`.

    Raises:
        CatalogError: the catalog cannot be written.
        StorageError: `storage` cannot be listed.
    """
    report = BundleRebuildReport()
    contexts = _contexts(storage)
    derived: set[str] = set()
    entries: dict[str, BundleEntry] = {}
    paths = _scan(storage)
    partial = remote_only(paths)
    committed_homes = marked_homes(paths, COMMIT_SUFFIX)
    for path, context, entry in _found_manifests(storage, paths, committed_homes, report):
        if entry.uuid in entries:
            report.skipped.append(f"{path}: bundle {entry.uuid} has another manifest, which is kept")
            continue
        if entry.home in partial:
            _local_files(storage, entry)
        if context not in contexts:
            contexts[context] = ContextEntry(context, entry.created_at)
            derived.add(context)
        elif context in derived and entry.created_at < contexts[context].created_at:
            contexts[context].created_at = entry.created_at
        entries[entry.uuid] = entry
    ordered = sorted(entries.values(), key=lambda entry: (entry.created_at, entry.uuid))
    report.bundles = catalog.bundles.replace_all(contexts.values(), ordered)
    report.contexts = len(contexts)
    return report
