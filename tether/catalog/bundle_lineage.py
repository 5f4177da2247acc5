"""Walking lineage edges breadth-first: what a bundle was made from, and what was made from it.

Each level of the walk is two indexed queries (the level's bundles and their
edges), so a walk costs a few queries per level whatever the catalog's size.
Every bundle appears once, at its shallowest depth, so diamonds do not repeat.
An upstream bundle the catalog no longer holds (removed, or only on a remote)
still appears, with `name` None.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from tether.catalog.bundle_records import LineageRecord
from tether.catalog.errors import CatalogError

__all__ = ["walk", "chunks", "marks"]

CHUNK = 500


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """`values` in slices of at most `size` (SQLite limits the parameters of a statement)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(count: int) -> str:
    """`?, ?, ...`: `count` parameter markers for an IN list."""
    return ", ".join("?" * count)


def _records(c: sqlite3.Connection, uuids: list[str], depth: int) -> list[LineageRecord]:
    records = {uuid: LineageRecord(depth, uuid) for uuid in uuids}
    for chunk in chunks(uuids):
        places = marks(len(chunk))
        sql = (
            "SELECT uuid, name, processing_name, code_ref, created_at, context FROM bundles"
            f" WHERE uuid IN ({places})"
        )
        for uuid, name, processing_name, code_ref, created_at, context in c.execute(sql, chunk):
            record = records[uuid]
            record.name = name
            record.processing_name = processing_name or ""
            record.code_method = code_ref or ""
            record.creation_date = datetime.fromisoformat(created_at)
            record.context = context
        edges = f"SELECT uuid, arg_name, depends_on_uuid FROM lineage WHERE uuid IN ({places})"
        for uuid, arg, target in c.execute(edges, chunk):
            records[uuid].depends_on[arg] = target
    return list(records.values())


def walk(c: sqlite3.Connection, start: str, max_depth: int | None, *, upstream: bool) -> list[LineageRecord]:
    """The records of a breadth-first walk from bundle `start` (depth 0).

    Args:
        c: a connection in a read transaction.
        start: the bundle's uuid.
        max_depth: stop after this many steps (None: no limit).
        upstream: follow what each bundle was made from (else what was made from it).

    Raises:
        CatalogError: `max_depth` is not a count of steps.
    """
    if max_depth is not None and (not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0):
        raise CatalogError(f"max_depth is a number of steps (0 or more) or None, not {max_depth!r}")
    found: list[LineageRecord] = []
    seen = {start}
    level = [start]
    depth = 0
    while level:
        records = _records(c, level, depth)
        found.extend(records)
        if max_depth is not None and depth >= max_depth:
            break
        following: list[str] = []
        if upstream:
            targets: list[str] = [t for record in records for t in record.depends_on.values()]
        else:
            targets = []
            for chunk in chunks(level):
                sql = f"SELECT uuid FROM lineage WHERE depends_on_uuid IN ({marks(len(chunk))}) ORDER BY uuid"
                targets.extend(uuid for (uuid,) in c.execute(sql, chunk))
        for target in targets:
            if target not in seen:
                seen.add(target)
                following.append(target)
        level = following
        depth += 1
    return found
