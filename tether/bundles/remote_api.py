"""Remotes in Disdat's API: `remote`, `push`, `pull`, `rmr`, and per-file `localize` / `delocalize`.

A data context is bound to one remote context at a URL (`s3://bucket/prefix`,
`gs://...`, `file://...`, a local folder, any fsspec URL). Only committed
bundles are pushed; a pulled bundle is committed and keeps its uuid, tags,
params, lineage and creation date. `pull` brings metadata only unless
`localize=True`; the data of a bundle pulled without it is fetched (and
verified) the first time it is read, or by `localize`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping

from tether.bundles.contexts import resolve_context
from tether.bundles.errors import BundleCorruptError, BundleError, BundleNotFoundError, ContextNotFoundError
from tether.bundles.remote_gc import drop_dead_packs, sweep
from tether.bundles.remote_transfer import (
    PullReport,
    PushReport,
    Tick,
    fetch_blobs,
    pull_entries,
    push_entries,
)
from tether.bundles.remote_index import RemoteIndex, check_remote_context, context_prefix, now_us
from tether.bundles.remote_io import RemoteIO, open_remote
from tether.bundles.store import BundleStore, current_store, label
from tether.catalog.bundle_records import BundleEntry, FileEntry, context_marker_path, remote_marker_path
from tether.catalog.errors import CatalogError
from tether.files.storages import StorageError

__all__ = [
    "PullReport",
    "PushReport",
    "delete_remote_context",
    "delocalize",
    "localize",
    "localize_missing",
    "pull",
    "push",
    "remote",
    "remote_of",
    "rmr",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def _normalize_url(url: str) -> str:
    if not isinstance(url, str | os.PathLike) or not os.fspath(url).strip():
        raise BundleError(f"remote_url {url!r} is not a URL; give s3://bucket/prefix, gs://..., or a folder")
    text = os.fspath(url).strip()
    match = _SCHEME.match(text)
    if match is None:
        return os.path.abspath(os.path.expanduser(text))
    if match.group(1).lower() in ("file", "local"):
        return os.path.abspath(text[match.end() :])
    if match.group(1).lower() == "memory":
        raise BundleError("a memory:// remote lives only as long as one process; use a folder or a bucket")
    return text.rstrip("/")


def remote(local_context: str | None, remote_context: str, remote_url: str, force: bool = False) -> None:
    """Bind a data context to a remote context at a URL.

    Args:
        local_context: the data context (None: the current one).
        remote_context: the context's name on the remote (shared by every
            project that binds it).
        remote_url: where remotes live: `s3://bucket/prefix`, `gs://bucket/prefix`,
            `file:///path`, a local folder, or any fsspec URL.
        force: replace a different remote already bound to the context.

    Raises:
        ContextNotFoundError: the data context does not exist.
        BundleError: a different remote is bound and `force` is False, the
            names are not valid, or the remote cannot be reached.
    """
    store = current_store()
    context = resolve_context(local_context, writing=True)
    check_remote_context(remote_context)
    url = _normalize_url(remote_url)
    current = store.index.get_context(context)
    if current is not None and current.remote_url and (current.remote_url, current.remote_context) != (
        url, remote_context
    ) and not force:
        raise BundleError(
            f"data context {context!r} is bound to {current.remote_context}@{current.remote_url}; pass"
            " force=True (`tether remote --force`) to bind it elsewhere"
        )
    io = open_remote(url)
    try:
        io.check()
    except (StorageError, OSError) as exc:
        raise BundleError(f"cannot reach the remote {url}: {exc}") from exc
    store.index.bind_remote(context, url, remote_context)
    marker = context_marker_path(context)
    try:
        data = json.loads(store.storage.read(marker))
    except (StorageError, ValueError):
        data = {"name": context, "created_at": current.created_at if current else ""}
    data.update(remote_url=url, remote_context=remote_context)
    store.storage.touch(marker, json.dumps(data))


def remote_of(store: BundleStore, context: str) -> tuple[RemoteIO, str]:
    """The remote bound to `context`: `(io, remote context)`.

    Raises:
        BundleError: no remote is bound.
    """
    entry = store.index.get_context(context)
    if entry is None and context != "default":
        raise ContextNotFoundError(f"no data context {context!r}; tether.bundles.ls_contexts() lists them")
    if entry is None or not entry.remote_url or not entry.remote_context:
        raise BundleError(
            f"data context {context!r} has no remote; bind one with tether.bundles.remote({context!r},"
            " REMOTE_CONTEXT, URL) or `tether remote REMOTE_CONTEXT URL`"
        )
    return open_remote(entry.remote_url), entry.remote_context


def _select_local(
    store: BundleStore, context: str, bundle_name: str | None, tags: Mapping[str, str] | None, uuid: str | None
) -> list[BundleEntry]:
    try:
        if uuid is not None:
            found = store.index.find(context, uuid=uuid, limit=2)
            if len(found) > 1:
                raise BundleError(f"uuid prefix {uuid!r} matches several bundles; give more characters")
        elif bundle_name is not None:
            found = store.index.find(context, name=bundle_name, tags=dict(tags or {}), limit=1)
        else:
            found = store.index.find(context, tags=dict(tags or {}) or None, committed=True)
    except CatalogError as exc:
        raise BundleError(str(exc)) from None
    if not found and (uuid is not None or bundle_name is not None):
        raise BundleNotFoundError(
            f"nothing to push: no bundle {uuid or repr(bundle_name)} in data context {context!r}"
        )
    return found


def push(
    local_context: str | None,
    bundle_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    uuid: str | None = None,
    delocalize: bool = False,
    *,
    commit: bool = False,
    progress: Tick | None = None,
) -> PushReport:
    """Push committed bundles to the context's remote: the newest by name, one by uuid, or all.

    Only blobs the remote lacks are sent; the bundles appear on the remote
    only once all their data is there.

    Args:
        local_context: the data context (None: the current one).
        bundle_name: push the newest bundle with this name (and tags).
        tags: tags the bundles must have.
        uuid: push this bundle (trumps the name).
        delocalize: afterwards, free the local copies of their files (they
            are fetched again from the remote when read).
        commit: commit the bundle first if it is not committed.
        progress: called as `progress(stage, count)` as work is done.

    Raises:
        BundleError: no remote is bound, or the bundle is not committed.
        BundleNotFoundError: no bundle matches.
    """
    store = current_store()
    context = resolve_context(local_context)
    io, remote_context = remote_of(store, context)
    entries = _select_local(store, context, bundle_name, tags, uuid)
    uncommitted = [entry for entry in entries if not entry.committed]
    if uncommitted and not commit:
        entry = uncommitted[0]
        raise BundleError(
            f"bundle {label(entry)} is not committed, and only committed bundles are pushed; commit it"
            f" with `tether commit {entry.name}` or tether.bundles.commit({context!r}, {entry.name!r}),"
            " or push with commit=True (`tether push --commit`)"
        )
    if uncommitted:
        store.commit(uncommitted)
    index = RemoteIndex.load(io, remote_context)
    report = push_entries(store, index, entries, progress)
    if delocalize:
        for entry in entries:
            _delocalize_entry(store, entry, index, None)
    return report


def pull(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    localize: bool = False,
    *,
    tags: Mapping[str, str] | None = None,
    progress: Tick | None = None,
) -> PullReport:
    """Pull bundles from the context's remote: the newest by name, one by uuid, or all of them.

    Reads the remote's index, not every bundle: pulling one bundle by name
    costs three requests (list the index, read it, read the manifest).

    Args:
        local_context: the data context (None: the current one).
        bundle_name: pull the newest bundle with this name (and tags).
        uuid: pull this bundle (a uuid or a unique prefix; trumps the name).
        localize: also fetch the bundles' files now (else on first read).
        tags: tags the bundle must have.
        progress: called as `progress(stage, count)` as work is done.

    Raises:
        BundleError: no remote is bound.
        BundleNotFoundError: the remote holds no such bundle.
        BundleCorruptError: a manifest or a file does not match its hash
            (nothing is recorded).
    """
    store = current_store()
    context = resolve_context(local_context, writing=True)
    io, remote_context = remote_of(store, context)
    index = RemoteIndex.load(io, remote_context)
    chosen = index.find(name=bundle_name, uuid=uuid, tags=dict(tags) if tags else None)
    where = f"remote context {remote_context!r} at {io.url}"
    if uuid is not None:
        if not chosen:
            raise BundleNotFoundError(f"no bundle {uuid} in {where}")
        if len(chosen) > 1:
            raise BundleError(f"uuid prefix {uuid!r} matches several bundles in {where}; give more characters")
    elif bundle_name is not None:
        if not chosen:
            raise BundleNotFoundError(
                f"no bundle named {bundle_name!r}{' with those tags' if tags else ''} in {where};"
                " `tether pull` with no name pulls everything"
            )
        chosen = chosen[:1]
    report = pull_entries(
        store, index, context, chosen, localize=localize, strict=bundle_name is not None or uuid is not None,
        tick=progress,
    )
    if localize and report.present:
        pulled = {entry.uuid for entry in report.pulled}
        for uuid_, _ in chosen:
            if uuid_ not in pulled:
                found = store.index.find(context, uuid=uuid_)
                if found:
                    blobs, fetched = _localize_entry(store, found[0], None, io)
                    report.blobs += blobs
                    report.bytes += fetched
    return report


def _resolve(local_context: str | None, bundle_name: str | None, uuid: str | None) -> tuple[BundleStore, BundleEntry]:
    store = current_store()
    context = resolve_context(local_context)
    if uuid is None and bundle_name is None:
        raise BundleError("give a bundle_name or a uuid")
    found = store.index.find(context, name=None if uuid else bundle_name, uuid=uuid, limit=1)
    if not found:
        raise BundleNotFoundError(f"no bundle {uuid or repr(bundle_name)} in data context {context!r}")
    return store, found[0]


def rmr(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    tags: Mapping[str, str] | None = None,
    rm_all: bool = False,
) -> list[str]:
    """Remove bundles from the context's remote (not from this project): the newest by name, or all.

    Blobs are deleted only if no bundle of any remote context still holds them.

    Args:
        local_context: the data context whose remote to change (None: the current one).
        bundle_name: the bundles' name.
        uuid: one bundle (a uuid or a unique prefix).
        tags: tags the bundles must have.
        rm_all: remove every match, not just the newest.

    Returns:
        The uuids removed from the remote.

    Raises:
        BundleError: nothing names the bundles, or no remote is bound.
        BundleNotFoundError: the remote holds no such bundle.
    """
    if bundle_name is None and uuid is None and not tags:
        raise BundleError("rmr() needs a bundle_name, a uuid or tags to say what to remove from the remote")
    store = current_store()
    context = resolve_context(local_context)
    io, remote_context = remote_of(store, context)
    index = RemoteIndex.load(io, remote_context)
    found = index.find(name=bundle_name, uuid=uuid, tags=dict(tags) if tags else None)
    if not found:
        raise BundleNotFoundError(
            f"no bundle {uuid or repr(bundle_name)} in remote context {remote_context!r} at {io.url}"
        )
    targets = found if rm_all else found[:1]
    stamp = now_us()
    # A tombstone keeps the pack its bundle was in, so that the pack can go once nothing lives in it.
    index.publish({uuid_: {"at": stamp, "deleted": True, "pack": entry["pack"]} for uuid_, entry in targets})
    drop_dead_packs(index)
    sweep(io, {digest for _, entry in targets for digest in entry.get("blobs", ())})
    return [uuid_ for uuid_, _ in targets]


def delete_remote_context(store: BundleStore, context: str) -> None:
    """Delete the remote context bound to `context`: its index and packs, and blobs nothing else holds."""
    io, remote_context = remote_of(store, context)
    index = RemoteIndex.load(io, remote_context)
    candidates = {digest for entry in index.live().values() for digest in entry.get("blobs", ())}
    # The index first, so that no reader sees bundles whose manifests are gone.
    io.delete_many(index.segments)
    io.delete_folder(context_prefix(remote_context))
    sweep(io, candidates, skip=remote_context)


# --- files -----------------------------------------------------------------------------


def _manifest_files(store: BundleStore, entry: BundleEntry) -> list[FileEntry]:
    manifest = store.manifest(entry)
    return [FileEntry(str(p), str(h), int(s)) for p, h, s in manifest.get("files") or ()]


def _chosen(all_files: list[FileEntry], files: Iterable[str] | None, entry: BundleEntry) -> list[FileEntry]:
    if files is None:
        return all_files
    wanted = [files] if isinstance(files, str) else list(files)
    known = {file.path for file in all_files}
    unknown = [path for path in wanted if path not in known]
    if unknown:
        raise BundleError(
            f"bundle {label(entry)} has no file {unknown[0]!r}; its files are {sorted(known)[:10]}"
        )
    return [file for file in all_files if file.path in wanted]


def _localize_entry(
    store: BundleStore, entry: BundleEntry, files: Iterable[str] | None, io: RemoteIO
) -> tuple[int, int]:
    """Fetch files of `entry` from the remote and record them; returns the blobs and bytes fetched."""
    all_files = _manifest_files(store, entry)
    chosen = _chosen(all_files, files, entry)
    wanted = {file.hash: (label(entry), file) for file in chosen}
    blobs, fetched = fetch_blobs(store, io, wanted)

    def check_blob(file: FileEntry) -> None:
        if not store.blobs.exists(file.hash):
            fetch_blobs(store, io, {file.hash: wanted[file.hash]})

    store.index.add_files(entry.uuid, chosen, check_blob=check_blob)
    local = {(f.path, f.hash) for f in store.index.find(None, uuid=entry.uuid)[0].files}
    if all((f.path, f.hash) in local for f in all_files):
        store.storage.rm(remote_marker_path(entry.home), missing_ok=True)
    return blobs, fetched


def _delocalize_entry(
    store: BundleStore, entry: BundleEntry, index: RemoteIndex, files: Iterable[str] | None
) -> list[str]:
    if entry.uuid not in index.live():
        raise BundleError(
            f"bundle {label(entry)} is not on the remote {index.io.url} (context {index.context!r});"
            " push it before delocalizing it"
        )
    chosen = _chosen(_manifest_files(store, entry), files, entry)
    # The marker goes first: a crash after it leaves files that are only fetched again.
    store.storage.touch(remote_marker_path(entry.home), b"{}")
    hashes = store.index.remove_files(entry.uuid, [file.path for file in chosen])
    store._drop_cache(entry.uuid)
    return store.index.collect_blobs(hashes, store.blobs.delete)


def localize(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    files: Iterable[str] | None = None,
) -> int:
    """Fetch files of a pulled bundle from the remote (all, or those at these paths); returns bytes fetched.

    Raises:
        BundleError: no remote is bound, or a path is not a file of the bundle.
        BundleCorruptError: a file is missing on the remote or does not match its hash.
    """
    store, entry = _resolve(local_context, bundle_name, uuid)
    io, _ = remote_of(store, entry.context)
    return _localize_entry(store, entry, files, io)[1]


def delocalize(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    files: Iterable[str] | None = None,
) -> list[str]:
    """Free the local copies of a pushed bundle's files (all, or those at these paths).

    They are fetched again from the remote when the data is read. Blobs that
    other local bundles hold stay.

    Returns:
        The hashes of the local blobs deleted.

    Raises:
        BundleError: no remote is bound, or the bundle is not on it.
    """
    store, entry = _resolve(local_context, bundle_name, uuid)
    io, remote_context = remote_of(store, entry.context)
    return _delocalize_entry(store, entry, RemoteIndex.load(io, remote_context), files)


def localize_missing(store: BundleStore, entry: BundleEntry) -> bool:
    """Fetch the files of a bundle pulled without them; False if it is not such a bundle.

    Raises:
        BundleCorruptError: its context has no remote any more to fetch from.
    """
    if not store.storage.isfile(remote_marker_path(entry.home)):
        return False
    try:
        io, _ = remote_of(store, entry.context)
    except BundleError:
        raise BundleCorruptError(
            f"bundle {label(entry)} was pulled without its data, and data context {entry.context!r}"
            " has no remote to fetch it from; bind the remote again with tether.bundles.remote(...)"
        ) from None
    _localize_entry(store, entry, None, io)
    return True

