"""Finding, reading, committing and removing bundles: the functions of Disdat's API.

Every lookup is a catalog query with bound parameters; none reads bundle data.
Names and tags match exactly. The one pattern is `search(search_name=...)`
with a `*` in it, where `*` matches any text and every other character
(`.`, `_`, `%`, `?`, quotes) matches itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tether.bundles.bundle import Bundle
from tether.bundles.contexts import resolve_context
from tether.bundles.errors import BundleError, BundleNotFoundError
from tether.bundles.files import LocalFile
from tether.bundles.store import current_store
from tether.catalog.bundle_records import BundleEntry, LineageRecord
from tether.catalog.bundle_rebuild import BundleRebuildReport
from tether.catalog.errors import CatalogError
from tether.files.storages import BaseStorage

__all__ = ["add", "cat", "commit", "downstream", "find_by_hash", "get", "lineage", "rebuild", "rm", "search"]

_DATE_FORMATS = ("%m-%d-%Y %H:%M:%S", "%m-%d-%Y")


def _date(value: str | datetime | None, argument: str) -> datetime | None:
    """A search bound: a datetime, ISO 8601 text, or Disdat's `12-1-2009 [12:13:42]`; naive is local time."""
    if value is None:
        return None
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        for form in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value.strip(), form)
                break
            except ValueError:
                continue
        else:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
    if moment is None:
        raise BundleError(
            f"{argument}={value!r} is not a date; give a datetime, ISO 8601 text, or"
            " 'MM-DD-YYYY' / 'MM-DD-YYYY HH:MM:SS' (local time)"
        )
    return moment if moment.tzinfo is not None else moment.astimezone()


def _check_tags(tags: Mapping[str, str] | None, argument: str) -> dict[str, str] | None:
    if tags is None:
        return None
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise BundleError(f"{argument} is a dict of str to str (tags are text, matched exactly), not {tags!r}")
    return dict(tags)


def _find(context: str | None, **filters: Any) -> list[BundleEntry]:
    try:
        return current_store().index.find(context, **filters)
    except CatalogError as exc:
        raise BundleError(str(exc)) from None


def _bundles(entries: Iterable[BundleEntry]) -> list[Bundle]:
    store = current_store()
    return [Bundle._closed(store, entry) for entry in entries]


def search(
    local_context: str | None,
    search_name: str | None = None,
    search_tags: Mapping[str, str] | None = None,
    is_committed: bool | None = None,
    find_intermediates: bool = False,
    find_roots: bool = False,
    before: str | datetime | None = None,
    after: str | datetime | None = None,
    *,
    processing_name: str | None = None,
    uuid: str | None = None,
    latest: bool = False,
    limit: int | None = None,
) -> list[Bundle]:
    """Bundles of a context that match every filter given, newest first.

    Reads only the catalog: no bundle data is loaded until `.data` is used.

    Args:
        local_context: the data context (None: the current one).
        search_name: the exact name; with `*` in it, a pattern where `*`
            matches any text and every other character matches itself.
        search_tags: tags the bundles must all have.
        is_committed: None any; True only committed; False only uncommitted.
        find_intermediates: only bundles that another bundle was made from.
        find_roots: only final outputs: bundles no other bundle was made from.
        before: only bundles created before this time (a datetime, ISO 8601
            text, or `'12-1-2009'` / `'12-1-2009 12:13:42'`; naive is local time).
        after: only bundles created at or after this time.
        processing_name: only bundles with exactly this processing name.
        uuid: only this bundle.
        latest: only the newest bundle of each name among the matches.
        limit: at most this many.

    Raises:
        ContextNotFoundError: the context does not exist.
        BundleError: a filter is malformed.
    """
    context = resolve_context(local_context)
    pattern = name = None
    if search_name is not None:
        if not isinstance(search_name, str):
            raise BundleError(f"search_name is a str, not a {type(search_name).__name__}")
        if "*" in search_name:
            pattern = search_name
        else:
            name = search_name
    return _bundles(
        _find(
            context,
            name=name,
            pattern=pattern,
            uuid=uuid,
            processing_name=processing_name,
            tags=_check_tags(search_tags, "search_tags"),
            committed=is_committed,
            intermediates=find_intermediates,
            roots=find_roots,
            before=_date(before, "before"),
            after=_date(after, "after"),
            latest=latest,
            limit=limit,
        )
    )


def get(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Bundle | None:
    """The newest bundle with this name (or this uuid or unique uuid prefix, which trumps the
    name) and tags, or None.

    Raises:
        ContextNotFoundError: the context does not exist.
        BundleError: neither a name nor a uuid is given.
    """
    context = resolve_context(local_context)
    if uuid is None and bundle_name is None:
        raise BundleError("get() needs a bundle_name or a uuid")
    found = _find(
        context,
        name=None if uuid is not None else bundle_name,
        uuid=uuid,
        tags=_check_tags(tags, "tags"),
        limit=2 if uuid is not None else 1,
    )
    if uuid is not None and len(found) > 1:
        raise BundleError(
            f"uuid prefix {uuid!r} matches several bundles in data context {context!r};"
            " give more characters of the uuid"
        )
    return _bundles(found)[0] if found else None


def cat(
    local_context: str | None,
    bundle_name: str | None,
    *,
    uuid: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """The data of the newest bundle named `bundle_name` (or with this uuid), verified.

    Raises:
        BundleNotFoundError: no bundle matches.
    """
    bundle = get(local_context, bundle_name, uuid=uuid, tags=tags)
    if bundle is None:
        what = f"uuid {uuid}" if uuid else f"name {bundle_name!r}"
        where = local_context or resolve_context(None)
        raise BundleNotFoundError(
            f"no bundle with {what}{' and those tags' if tags else ''} in data context {where!r};"
            " tether.bundles.search() (`tether ls`) lists the bundles"
        )
    return bundle.data


def commit(
    local_context: str | None,
    bundle_name: str | None,
    tags: Mapping[str, str] | None = None,
    uuid: str | None = None,
) -> Bundle:
    """Commit the newest bundle with this name and tags (or this uuid); returns it.

    Committing sets a flag beside the bundle; the bundle itself is unchanged.

    Raises:
        BundleNotFoundError: no bundle matches.
    """
    bundle = get(local_context, bundle_name, uuid=uuid, tags=tags)
    if bundle is None:
        raise BundleNotFoundError(
            f"nothing to commit: no bundle {uuid or repr(bundle_name)} in data context"
            f" {local_context or resolve_context(None)!r}"
        )
    return bundle.commit()


def rm(
    local_context: str | None,
    bundle_name: str | None = None,
    uuid: str | None = None,
    tags: Mapping[str, str] | None = None,
    rm_all: bool = False,
    rm_old_only: bool = False,
    force: bool = False,
) -> list[Bundle]:
    """Remove bundles by name, uuid (which trumps the name) or tags: by default the newest match.

    Blobs no remaining bundle holds are deleted from storage.

    Args:
        local_context: the data context (None: the current one).
        bundle_name: the exact name.
        uuid: one bundle.
        tags: tags the bundles must all have.
        rm_all: remove every match, the newest included.
        rm_old_only: remove every match but the newest.
        force: also remove committed bundles.

    Returns:
        The removed bundles (closed handles; their data is gone).

    Raises:
        BundleError: nothing names the bundles, or some are committed and
            `force` is False (then nothing is removed).
    """
    context = resolve_context(local_context)
    if bundle_name is None and uuid is None and not tags:
        raise BundleError("rm() needs a bundle_name, a uuid or tags to say what to remove")
    if rm_all and rm_old_only:
        raise BundleError("rm_all and rm_old_only exclude each other; give one of them")
    found = _find(
        context,
        name=None if uuid is not None else bundle_name,
        uuid=uuid,
        tags=_check_tags(tags, "tags"),
        details=False,
    )
    targets = found if rm_all else found[1:] if rm_old_only else found[:1]
    committed = [entry for entry in targets if entry.committed]
    if committed and not force:
        raise BundleError(
            f"{len(committed)} of the {len(targets)} bundles to remove are committed (e.g."
            f" {committed[0].name!r} {committed[0].uuid}); pass force=True (`tether rm --force`) to"
            " remove them"
        )
    if targets:
        current_store().remove(targets)
    return _bundles(targets)


def lineage(local_context: str | None, uuid: str, max_depth: int | None = None) -> list[LineageRecord]:
    """What bundle `uuid` was made from, breadth-first, starting with itself (depth 0).

    Each upstream bundle appears once, at its shallowest depth; one the
    catalog no longer holds appears with `name` None.

    Raises:
        BundleNotFoundError: the context holds no bundle `uuid`.
    """
    _require(local_context, uuid)
    return _walk(uuid, max_depth, upstream=True)


def downstream(local_context: str | None, uuid: str, max_depth: int | None = None) -> list[LineageRecord]:
    """Which bundles were made from bundle `uuid`, breadth-first, starting with itself (depth 0).

    Raises:
        BundleNotFoundError: the context holds no bundle `uuid`.
    """
    _require(local_context, uuid)
    return _walk(uuid, max_depth, upstream=False)


def _require(local_context: str | None, uuid: str) -> None:
    context = resolve_context(local_context)
    if not _find(context, uuid=uuid, details=False):
        raise BundleNotFoundError(
            f"no bundle {uuid} in data context {context!r}; tether.bundles.search() lists the bundles"
        )


def _walk(uuid: str, max_depth: int | None, *, upstream: bool) -> list[LineageRecord]:
    index = current_store().index
    try:
        return index.lineage(uuid, max_depth) if upstream else index.downstream(uuid, max_depth)
    except CatalogError as exc:
        raise BundleError(str(exc)) from None


def find_by_hash(digest: str, local_context: str | None = None) -> list[Bundle]:
    """The bundles holding a file with content hash `digest` (any context if None), newest first.

    Lets a pipeline tell which bundle a file it read came from: hash the file
    with `digest_file` and look the hash up here.
    """
    store = current_store()
    context = None if local_context is None else resolve_context(local_context)
    entries = [entry for uuid in store.index.holders(digest) for entry in _find(context, uuid=uuid)]
    entries.sort(key=lambda entry: entry.created_at, reverse=True)
    return _bundles(entries)


def add(
    local_context: str | None,
    bundle_name: str,
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    tags: Mapping[str, str] | None = None,
) -> Bundle:
    """Make a bundle of local files: a file presents as its `Path`, anything else as a list of them.

    A folder adds every file below it, each under `<folder name>/<path in the
    folder>`, so files of the same name in different subfolders are all kept.

    Raises:
        BundleError: a path does not exist.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    items: list[LocalFile] = []
    for each in paths:
        text = os.fspath(each)
        if os.path.isfile(text):
            items.append(LocalFile(text))
        elif os.path.isdir(text):
            top = os.path.basename(os.path.normpath(text))
            for folder, dirs, names in os.walk(text):
                dirs.sort()
                for name in sorted(names):
                    full = os.path.join(folder, name)
                    relative = os.path.relpath(full, text).replace(os.sep, "/")
                    items.append(LocalFile(full, f"{top}/{relative}"))
        else:
            raise BundleError(f"cannot add {text} to a bundle: no such file or folder")
    data: Any = items[0] if len(items) == 1 and os.path.isfile(os.fspath(paths[0])) else items
    with Bundle(local_context, name=bundle_name, tags=tags) as bundle:
        bundle.add_data(data)
        bundle.add_code_ref("tether.bundles.add")
        bundle.add_params({"path": [os.fspath(each) for each in paths]})
    return bundle


def rebuild(storage: BaseStorage | None = None) -> BundleRebuildReport:
    """Re-create the catalog's index of contexts and bundles from the manifests in storage.

    Args:
        storage: the storage to read (default: `default_storage`).
    """
    from tether.catalog import default_catalog
    from tether.files.storages import default_storage

    try:
        return default_catalog.rebuild_bundles(storage if storage is not None else default_storage)
    finally:
        current_store().forget_contexts()
