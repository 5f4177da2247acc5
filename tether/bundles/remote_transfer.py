"""Pushing bundles to a remote context and pulling them back, as `remote_index` lays them out.

A push sends, in this order: an intent naming the blobs it will reference
(so that a concurrent removal keeps them), the blobs the remote lacks (by
content hash, concurrently), one pack holding the manifests, then a new index
segment. Until that last write nothing of the push is visible; a push killed
before it leaves blobs and a pack that the next push reuses or that a later
removal collects. A pull reads the index, then the manifests it needs (a
ranged GET each, or whole packs), and verifies every manifest and every blob
against its hash before anything is written locally.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid as uuid_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tether.bundles.blobs import digest_bytes, digest_file
from tether.bundles.errors import BundleCorruptError, BundleError
from tether.bundles.remote_index import RemoteIndex, blob_key, new_id, now_us
from tether.bundles.remote_io import RemoteIO
from tether.bundles.store import BundleStore, label
from tether.catalog.bundle_records import (
    BundleEntry,
    FileEntry,
    blob_path,
    commit_marker_path,
    manifest_path,
    remote_marker_path,
)
from tether.catalog.errors import CatalogError

__all__ = [
    "PullReport",
    "PushReport",
    "Tick",
    "fetch_blobs",
    "pull_entries",
    "push_entries",
    "read_manifests",
]

Tick = Callable[[str, int], None]
"""A progress callback: `tick(stage, count)` says `count` more items of `stage` are done."""

# Per pack, up to this many manifests are read with ranged GETs; more, and the whole pack.
RANGED_LIMIT = 4
# With this many blobs to look for per listing page or more, a push lists the remote's blobs.
LIST_PER_PAGE = 50


@dataclass
class PushReport:
    """What a push did: bundles sent, bundles the remote had, blobs and bytes uploaded."""

    pushed: list[str] = field(default_factory=list)
    present: int = 0
    blobs: int = 0
    bytes: int = 0


@dataclass
class PullReport:
    """What a pull did: bundles recorded, bundles already here, blobs and bytes downloaded."""

    pulled: list[BundleEntry] = field(default_factory=list)
    present: int = 0
    blobs: int = 0
    bytes: int = 0


def _files(manifest: dict[str, Any]) -> list[FileEntry]:
    return [FileEntry(str(p), str(h), int(s)) for p, h, s in manifest.get("files") or ()]


def push_entries(
    store: BundleStore, index: RemoteIndex, entries: Sequence[BundleEntry], tick: Tick | None = None
) -> PushReport:
    """Send bundles the remote context does not hold yet, and publish them in its index.

    Raises:
        BundleError: a file of a bundle is neither here nor on the remote.
        BundleCorruptError: a local blob no longer matches its hash.
    """
    report = PushReport()
    live = index.live()
    todo = [entry for entry in entries if entry.uuid not in live]
    report.present = len(entries) - len(todo)
    if not todo:
        return report
    raws = [store.manifest_bytes(entry) for entry in todo]
    manifests = [_parse_local(entry, raw) for entry, raw in zip(todo, raws)]
    owners: dict[str, tuple[BundleEntry, FileEntry]] = {}
    for entry, manifest in zip(todo, manifests):
        for file in _files(manifest):
            owners.setdefault(file.hash, (entry, file))
    # Blobs an indexed bundle of this context holds are on the remote already.
    known = {digest for entry in live.values() for digest in entry.get("blobs", ())}
    check = sorted(set(owners) - known)
    io = index.io
    intent = None
    if check:
        intent = index.key("pending", new_id())
        io.write_many([(intent, json.dumps({"blobs": check}).encode())])
    # Many blobs to look for on a small remote: a listing or two beats one HEAD each.
    listed = io.list_small("blobs", len(check) // LIST_PER_PAGE) if len(check) > LIST_PER_PAGE else None
    keys = [blob_key(digest) for digest in check]
    present = {key for key in keys if key in listed} if listed is not None else io.exists_many(keys)
    missing = [digest for digest in check if blob_key(digest) not in present]
    uploads = []
    for digest in missing:
        entry, file = owners[digest]
        uploads.append((blob_key(digest), _source(store, entry, file, digest)))
        report.bytes += file.size
    if tick:
        tick("check", len(check))
    io.upload_many(uploads, tick=(lambda: tick("blob", 1)) if tick else None)
    report.blobs = len(uploads)
    pack_id = new_id()
    pack = b"".join(raws)
    io.write_many([(index.key("packs", pack_id), pack)])
    stamp = now_us()
    changes: dict[str, dict[str, Any]] = {}
    offset = 0
    for entry, manifest, raw in zip(todo, manifests, raws):
        changes[entry.uuid] = {
            "name": entry.name,
            "created_at": entry.created_at,
            "tags": entry.tags,
            "at": stamp,
            "pack": pack_id,
            "offset": offset,
            "length": len(raw),
            "hash": digest_bytes(raw),
            "blobs": sorted({file.hash for file in _files(manifest)}),
        }
        offset += len(raw)
    index.publish(changes)
    if intent:
        io.delete_many([intent])
    report.pushed = [entry.uuid for entry in todo]
    if tick:
        tick("bundle", len(todo))
    return report


def _parse_local(entry: BundleEntry, raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BundleCorruptError(f"bundle {label(entry)}: its manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("uuid") != entry.uuid:
        raise BundleCorruptError(f"bundle {label(entry)}: {entry.manifest_path} describes another bundle")
    return manifest


def _source(store: BundleStore, entry: BundleEntry, file: FileEntry, digest: str) -> Callable[[], Any]:
    """What to upload for a blob: the local file's path, or its bytes; verified first."""
    key = blob_path(digest)
    path = store.storage.local_path(key)
    if path and os.path.isfile(path):

        def from_disk() -> str:
            if digest_file(path)[0] != digest:
                raise BundleCorruptError(
                    f"bundle {label(entry)}: the file {file.path!r} changed in local storage ({key} no"
                    " longer matches its hash); it was not pushed"
                )
            return path

        return from_disk
    if not store.blobs.exists(digest):
        raise BundleError(
            f"bundle {label(entry)}: the file {file.path!r} is neither in local storage nor on the"
            " remote; pull it with localize=True from the remote it came from, then push"
        )

    def from_storage() -> bytes:
        return store.blobs.read(digest, bundle=label(entry), what=f"file {file.path!r}")

    return from_storage


def read_manifests(index: RemoteIndex, chosen: Sequence[tuple[str, dict[str, Any]]]) -> list[bytes]:
    """The manifest bytes of each chosen `(uuid, entry)`, verified against the index."""
    by_pack: dict[str, list[int]] = {}
    for position, (_, entry) in enumerate(chosen):
        by_pack.setdefault(entry["pack"], []).append(position)
    ranged: list[int] = []
    whole: list[str] = []
    for pack, positions in by_pack.items():
        if len(positions) <= RANGED_LIMIT:
            ranged.extend(positions)
        else:
            whole.append(pack)
    io = index.io
    found: list[bytes | None] = [None] * len(chosen)
    requests = []
    for position in ranged:
        entry = chosen[position][1]
        requests.append((index.key("packs", entry["pack"]), entry["offset"], entry["length"]))
    for position, data in zip(ranged, io.read_ranges(requests)):
        found[position] = data
    for pack, data in zip(whole, io.read_many([index.key("packs", pack) for pack in whole])):
        for position in by_pack[pack]:
            entry = chosen[position][1]
            found[position] = None if data is None else data[entry["offset"] : entry["offset"] + entry["length"]]
    result = []
    for (uuid, entry), data in zip(chosen, found):
        where = f"{io.url}/{index.key('packs', entry['pack'])}"
        if data is None:
            raise BundleCorruptError(
                f"bundle {entry['name']!r} ({uuid}): its manifest is missing from the remote ({where});"
                " push it again from a project that holds it"
            )
        if digest_bytes(data) != entry["hash"]:
            raise BundleCorruptError(
                f"bundle {entry['name']!r} ({uuid}): its manifest changed on the remote ({where} no"
                " longer matches its hash); push it again from a project that holds it"
            )
        result.append(data)
    return result


def fetch_blobs(
    store: BundleStore,
    io: RemoteIO,
    wanted: dict[str, tuple[str, FileEntry]],
    tick: Tick | None = None,
) -> tuple[int, int]:
    """Download the blobs missing locally, each verified before it is stored.

    Returns:
        How many blobs were fetched, and their bytes.

    Args:
        store: the local store.
        io: the remote.
        wanted: hash to (bundle label, file) for messages.
        tick: progress callback.

    Raises:
        BundleCorruptError: a blob is missing on the remote or does not match its hash.
    """
    todo = [digest for digest in wanted if not store.blobs.exists(digest)]
    if not todo:
        return 0, 0
    folder = os.path.join(store.local_dir, "pull", uuid_module.uuid4().hex[:12])
    os.makedirs(folder, exist_ok=True)
    try:
        temps = {digest: os.path.join(folder, digest) for digest in todo}
        found = io.download_many(
            [(blob_key(digest), temps[digest]) for digest in todo], tick=(lambda: tick("blob", 1)) if tick else None
        )
        total = 0
        for digest, ok in zip(todo, found):
            bundle, file = wanted[digest]
            where = f"{io.url}/{blob_key(digest)}"
            if not ok:
                raise BundleCorruptError(
                    f"bundle {bundle}: the file {file.path!r} is missing from the remote ({where});"
                    " push the bundle again from a project that holds it"
                )
            actual, size = digest_file(temps[digest])
            if actual != digest:
                raise BundleCorruptError(
                    f"bundle {bundle}: the file {file.path!r} is corrupt on the remote ({where} does not"
                    " match its hash); nothing was pulled; push the bundle again to repair it"
                )
            total += size
        for digest in todo:
            path = temps[digest]
            store.blobs.put_from(digest, lambda path=path: open(path, "rb"), what=f"file {wanted[digest][1].path!r}")
        return len(todo), total
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pull_entries(
    store: BundleStore,
    index: RemoteIndex,
    local_context: str,
    chosen: Sequence[tuple[str, dict[str, Any]]],
    *,
    localize: bool,
    strict: bool,
    tick: Tick | None = None,
) -> PullReport:
    """Record remote bundles in `local_context`: manifests, commit flags, catalog rows (and blobs).

    Args:
        store: the local store.
        index: the remote context's index.
        local_context: where the bundles go.
        chosen: `(uuid, index entry)` of the bundles to pull.
        localize: also fetch their files.
        strict: a bundle that another local context holds is an error (else skipped).
        tick: progress callback.

    Raises:
        BundleError: a chosen bundle is in another local context and `strict`.
        BundleCorruptError: a manifest or a blob does not match its hash.
    """
    report = PullReport()
    here = store.index.contexts_of(uuid for uuid, _ in chosen)
    elsewhere = [(uuid, context) for uuid, context in here.items() if context != local_context]
    if elsewhere and strict:
        uuid, context = elsewhere[0]
        raise BundleError(
            f"bundle {uuid} is already in data context {context!r} of this project; a bundle lives in"
            " one context, so read it there"
        )
    todo = [(uuid, entry) for uuid, entry in chosen if uuid not in here]
    report.present = len(chosen) - len(todo)
    if not todo:
        return report
    raws = read_manifests(index, todo)
    entries: list[BundleEntry] = []
    manifests: list[dict[str, Any]] = []
    for (uuid, _), raw in zip(todo, raws):
        data = json.loads(raw)
        data["context"] = local_context
        try:
            entry = BundleEntry.from_manifest(data, committed=True)
        except CatalogError as exc:
            raise BundleCorruptError(f"bundle {uuid} on the remote {index.io.url}: {exc}") from None
        if entry.uuid != uuid:
            raise BundleCorruptError(f"the remote index of {index.io.url} lists {uuid} for bundle {entry.uuid}")
        entry.manifest_path = manifest_path(local_context, entry.name, entry.uuid)
        entries.append(entry)
        manifests.append(data)
    if tick:
        tick("manifest", len(todo))
    wanted: dict[str, tuple[str, FileEntry]] = {}
    for entry in entries:
        for file in entry.files:
            wanted.setdefault(file.hash, (label(entry), file))
    if localize:
        report.blobs, report.bytes = fetch_blobs(store, index.io, wanted, tick)
    stamp = json.dumps({"committed_at": now_iso(), "pulled_from": f"{index.io.url}#{index.context}"})
    for entry, data in zip(entries, manifests):
        if entry.files and not localize:
            # Files whose content is here already (another bundle holds it) count as local.
            local = [file for file in entry.files if store.blobs.exists(file.hash)]
            if len(local) < len(entry.files):
                store.storage.touch(remote_marker_path(entry.home), b"{}")
            entry.files = local
        store.storage.touch(commit_marker_path(entry.home), stamp)
    # One append on storage with local files, a file each elsewhere.
    texts = [json.dumps(data, separators=(",", ":"), allow_nan=False) for data in manifests]
    store.write_manifests(entries, texts)

    def check_blob(file: FileEntry) -> None:
        # A local removal may have collected a fetched blob no bundle held yet: fetch it again.
        if not store.blobs.exists(file.hash):
            fetch_blobs(store, index.io, {file.hash: wanted[file.hash]})

    try:
        store.index.add_pulled(entries, check_blob=check_blob)
    except CatalogError as exc:
        for entry in entries:
            store.drop_manifest(entry)
        raise BundleError(f"cannot record the pulled bundles in data context {local_context!r}: {exc}") from exc
    report.pulled = entries
    return report


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat()
