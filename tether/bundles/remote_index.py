"""The layout of a remote and the index of each remote context.

    <url>/blobs/<2 hex>/<30 hex>                 content-addressed files, shared by every context
    <url>/contexts/<remote context>/packs/<id>.pack     the manifests one push sent, back to back
    <url>/contexts/<remote context>/index/<id>.json     an index segment (the whole index as of a push)
    <url>/contexts/<remote context>/pending/<id>.json   the blobs a push in progress will reference

An index segment maps each bundle uuid to an entry: its name, creation time,
tags, where its manifest is (pack, offset, length), the xxh3-128 of the
manifest's bytes, the blobs it holds, and `at`, when the entry was written.
Removing a bundle writes a tombstone (`deleted`) with a newer `at`. Every
push or removal reads the segments, writes one new segment with the merged
result, then deletes the segments it read. Two writers at once both read the
same segments and each writes its own; readers merge all the segments they
find, keeping for each uuid the entry with the latest `at` (a tombstone wins a
tie), so neither writer's entries are lost and a removal is never undone by
a concurrent push of other bundles. Segment and pack ids start with the time
in microseconds, so they sort by age.
"""

from __future__ import annotations

import json
import time
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from tether.bundles.errors import BundleCorruptError, BundleError
from tether.bundles.remote_io import RemoteIO
from tether.catalog.bundle_records import validate_context_name
from tether.catalog.errors import CatalogError

__all__ = [
    "INDEX_FORMAT",
    "PENDING_GRACE",
    "RemoteIndex",
    "blob_key",
    "context_prefix",
    "new_id",
    "now_us",
    "id_age",
    "check_remote_context",
]

INDEX_FORMAT = 1
CONTEXTS = "contexts"
# A push that has not finished within this many seconds is taken for dead:
# its pending blobs and unindexed packs may then be removed.
PENDING_GRACE = 3600.0
_LOAD_ATTEMPTS = 5


def now_us() -> int:
    """The time in microseconds since the epoch."""
    return time.time_ns() // 1000


def new_id() -> str:
    """A new segment / pack / intent id: the time in microseconds, then random hex."""
    return f"{now_us():017d}-{uuid_module.uuid4().hex[:12]}"


def id_age(ident: str) -> float:
    """Seconds since the id was made (0 for a malformed id, which is then kept)."""
    try:
        return max(0.0, (now_us() - int(ident.split("-", 1)[0])) / 1e6)
    except ValueError:
        return 0.0


def blob_key(digest: str) -> str:
    """The remote key of the blob with hex digest `digest`."""
    return f"blobs/{digest[:2]}/{digest[2:]}"


def context_prefix(remote_context: str) -> str:
    """The folder of a remote context."""
    return f"{CONTEXTS}/{remote_context}"


def check_remote_context(name: str) -> str:
    """Return `name` if it can name a remote context.

    Raises:
        BundleError: it cannot.
    """
    try:
        return validate_context_name(name)
    except CatalogError as exc:
        raise BundleError(str(exc).replace("data context", "remote context")) from None


def _merge(entries: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    for uuid, entry in more.items():
        current = entries.get(uuid)
        if (
            current is None
            or entry["at"] > current["at"]
            or (entry["at"] == current["at"] and entry.get("deleted") and not current.get("deleted"))
        ):
            entries[uuid] = entry


@dataclass
class RemoteIndex:
    """The merged index of one remote context, as read at one moment.

    Attributes:
        io: the remote.
        context: the remote context.
        entries: uuid to entry, tombstones included.
        segments: the keys of the segments read (replaced by the next `publish`).
    """

    io: RemoteIO
    context: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        """The folder of this remote context."""
        return context_prefix(self.context)

    def key(self, kind: str, ident: str) -> str:
        """The key of an `index`, `packs` or `pending` object of this context."""
        suffix = ".pack" if kind == "packs" else ".json"
        return f"{self.prefix}/{kind}/{ident}{suffix}"

    @classmethod
    def load(cls, io: RemoteIO, context: str) -> RemoteIndex:
        """Read every index segment of `context` (one listing, then one GET per segment).

        Raises:
            BundleCorruptError: a segment is not a tether index.
        """
        for _ in range(_LOAD_ATTEMPTS):
            index = cls(io, context)
            keys = [key for key in io.list(f"{index.prefix}/index") if key.endswith(".json")]
            found = io.read_many(keys)
            # A segment gone between the listing and the read was replaced by a
            # concurrent writer, whose new segment the listing missed: list again.
            if all(data is not None for data in found):
                break
        for key, data in zip(keys, found):
            if data is None:
                continue
            try:
                segment = json.loads(data)
                if segment.get("format") != INDEX_FORMAT:
                    raise ValueError(f"format {segment.get('format')!r} is unknown; upgrade tether")
                _merge(index.entries, segment["entries"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise BundleCorruptError(
                    f"the remote index {io.url}/{key} is not a tether index ({exc}); remove it"
                    " and push the bundles again"
                ) from None
            index.segments.append(key)
        return index

    def live(self) -> dict[str, dict[str, Any]]:
        """uuid to entry of the bundles the remote context holds (tombstones left out)."""
        return {uuid: entry for uuid, entry in self.entries.items() if not entry.get("deleted")}

    def publish(self, changes: dict[str, dict[str, Any]]) -> None:
        """Write a new segment with the entries read plus `changes`, then drop the segments read."""
        merged = dict(self.entries)
        _merge(merged, changes)
        ident = new_id()
        body = json.dumps({"format": INDEX_FORMAT, "entries": merged}, separators=(",", ":"))
        self.io.write_many([(self.key("index", ident), body.encode("utf-8"))])
        self.io.delete_many(self.segments)
        self.entries = merged
        self.segments = [self.key("index", ident)]

    def find(self, *, name: str | None = None, uuid: str | None = None,
             tags: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Live bundles matching a uuid (or unique prefix), a name and tags, newest first."""
        found = []
        for key, entry in self.live().items():
            if uuid is not None and not key.startswith(uuid):
                continue
            if uuid is None and name is not None and entry["name"] != name:
                continue
            if tags and any(entry.get("tags", {}).get(k) != v for k, v in tags.items()):
                continue
            found.append((key, entry))
        found.sort(key=lambda item: (item[1]["created_at"], item[0]), reverse=True)
        return found
