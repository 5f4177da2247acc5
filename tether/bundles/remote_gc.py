"""Removing what nothing on a remote uses any more: blobs (mark and sweep) and manifest packs.

Blobs are shared by every remote context at a URL, so a blob is deleted only
when no live bundle in any remote context's index holds it and no push in
progress (an intent under `pending/`, younger than `PENDING_GRACE`) is about
to reference it. The intents are read again right before deleting, which
leaves a window only for a push that stalls between writing its intent and
checking the blobs for longer than the removal takes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tether.bundles.remote_index import PENDING_GRACE, RemoteIndex, blob_key, id_age
from tether.bundles.remote_io import RemoteIO

__all__ = ["drop_dead_packs", "referenced_blobs", "sweep"]


def referenced_blobs(io: RemoteIO, *, skip: str | None = None) -> tuple[set[str], set[str]]:
    """Blobs some remote context's live bundles hold, and blobs recent pushes are about to.

    Args:
        io: the remote.
        skip: a remote context to leave out (one being deleted).
    """
    keys = io.list("contexts")
    contexts = sorted({key.split("/")[1] for key in keys if key.count("/") >= 3} - {skip})
    held: set[str] = set()
    for context in contexts:
        for entry in RemoteIndex.load(io, context).live().values():
            held.update(entry.get("blobs", ()))
    return held, _pending(io, [k for k in keys if k.split("/")[1] != skip])


def _pending(io: RemoteIO, keys: Iterable[str]) -> set[str]:
    """Blobs named by push intents younger than the grace period (older ones are deleted)."""
    fresh, stale = [], []
    for key in keys:
        parts = key.split("/")
        if len(parts) == 4 and parts[2] == "pending" and key.endswith(".json"):
            (fresh if id_age(parts[3][: -len(".json")]) < PENDING_GRACE else stale).append(key)
    io.delete_many(stale)
    blobs: set[str] = set()
    for data in io.read_many(fresh):
        if data is not None:
            try:
                blobs.update(json.loads(data)["blobs"])
            except (ValueError, KeyError, TypeError):
                continue
    return blobs


def sweep(io: RemoteIO, candidates: Iterable[str], *, skip: str | None = None) -> list[str]:
    """Delete the candidate blobs that no remote context holds and no push in progress names.

    Returns:
        The hashes deleted.
    """
    candidates = set(candidates)
    if not candidates:
        return []
    held, pending = referenced_blobs(io, skip=skip)
    orphans = candidates - held - pending
    if orphans:
        # Read the intents again right before deleting: a push that started
        # since keeps its blobs.
        keys = [key for key in io.list("contexts") if "/pending/" in key and key.split("/")[1] != skip]
        orphans -= _pending(io, keys)
    io.delete_many(blob_key(digest) for digest in orphans)
    return sorted(orphans)


def drop_dead_packs(index: RemoteIndex) -> int:
    """Delete the packs of a remote context that no live bundle reads; returns how many.

    A pack that no entry names yet may belong to a push in progress: it is
    kept until it is older than the grace period.
    """
    named = {entry.get("pack") for entry in index.entries.values()}
    alive = {entry["pack"] for entry in index.live().values()}
    dead = []
    for key in index.io.list(f"{index.prefix}/packs"):
        pack = key.rsplit("/", 1)[-1][: -len(".pack")]
        if pack in alive:
            continue
        if pack in named or id_age(pack) >= PENDING_GRACE:
            dead.append(key)
    index.io.delete_many(dead)
    return len(dead)
