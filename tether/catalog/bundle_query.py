"""The SQL of bundle searches: every filter is a bound parameter, names match exactly.

A name pattern becomes a SQLite GLOB in which only `*` is a wildcard: `?` and
`[` are bracketed, so they and every other character (`.`, `_`, `%`, quotes)
match themselves, and the literal text before the first `*` narrows the search
to an index range. No user text is ever put into SQL or into a LIKE pattern.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tether.catalog.bundle_records import BUNDLE_COLUMNS
from tether.catalog.errors import CatalogError
from tether.catalog.records import normalize_timestamp
from tether.catalog.sqlite import _prefix_end

__all__ = ["COLUMNS", "find_query", "glob_pattern"]

COLUMNS = ", ".join(f"b.{name.strip()}" for name in BUNDLE_COLUMNS.split(","))


def glob_pattern(pattern: str) -> tuple[str, str]:
    """A SQLite GLOB for `pattern`, in which `*` matches any text and nothing else is special.

    Returns:
        The GLOB, and the literal text before the first `*` (for an index range).
    """
    glob = "".join(f"[{char}]" if char in "?[" else char for char in pattern)
    return glob, pattern.split("*", 1)[0]


def _timestamp(value: str | datetime, argument: str) -> str:
    """`value` as catalog time text; a naive datetime is local time."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.astimezone(timezone.utc)
    try:
        text = normalize_timestamp(value)
    except TypeError as exc:
        raise CatalogError(f"{argument} is a date, as a datetime or ISO 8601 text; {exc}") from None
    if text is None or "T" not in text:
        raise CatalogError(f"{argument}={value!r} is not a date; give a datetime or ISO 8601 text")
    return text


def find_query(
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
) -> tuple[str, list[Any]]:
    """The SQL and parameters of `BundleIndex.find` (which documents the filters), newest first.

    A tag search is driven by the tag index (`CROSS JOIN` keeps that order),
    a name search by the name index.

    Raises:
        CatalogError: contradictory or malformed filters.
    """
    if intermediates and roots:
        raise CatalogError("find_intermediates and find_roots exclude each other; give one of them")
    clauses: list[str] = []
    values: list[Any] = []
    source = "bundles b"
    if uuid is not None:
        # A uuid or a prefix of one: a key range, so that no character is a pattern.
        clauses.append("b.uuid >= ? AND b.uuid < ?")
        values.extend((uuid, uuid + "\uffff"))
    if tags:
        items = list(tags.items())
        if uuid is None and name is None:
            source = "bundle_tags t0 CROSS JOIN bundles b"
            clauses.append("t0.key = ? AND t0.value = ? AND b.uuid = t0.uuid")
            values.extend(items[0])
            items = items[1:]
        for key, value in items:
            clauses.append(
                "EXISTS (SELECT 1 FROM bundle_tags t WHERE t.uuid = b.uuid AND t.key = ? AND t.value = ?)"
            )
            values.extend((key, value))
    # With a uuid, the primary key range finds at most a few rows: the unary `+`
    # keeps SQLite from walking the context's whole (context, created_at) index
    # instead, only to return rows in order (40 ms at 100,000 bundles).
    plus = "+" if uuid is not None else ""
    if context is not None:
        clauses.append(f"{plus}b.context = ?")
        values.append(context)
    if name is not None:
        clauses.append(f"{plus}b.name = ?")
        values.append(name)
    if pattern is not None:
        glob, prefix = glob_pattern(pattern)
        if prefix:
            clauses.append("b.name >= ?")
            values.append(prefix)
            end = _prefix_end(prefix)
            if end is not None:
                clauses.append("b.name < ?")
                values.append(end)
        clauses.append("b.name GLOB ?")
        values.append(glob)
    if processing_name is not None:
        clauses.append("b.processing_name = ?")
        values.append(processing_name)
    if committed is not None:
        clauses.append("b.committed = ?")
        values.append(int(bool(committed)))
    if before is not None:
        clauses.append("b.created_at < ?")
        values.append(_timestamp(before, "before"))
    if after is not None:
        clauses.append("b.created_at >= ?")
        values.append(_timestamp(after, "after"))
    if intermediates or roots:
        exists = "EXISTS (SELECT 1 FROM lineage l WHERE l.depends_on_uuid = b.uuid)"
        clauses.append(exists if intermediates else f"NOT {exists}")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    if latest:
        # SQLite takes the bare columns of a max() aggregate from the row holding the maximum.
        sql = (
            f"SELECT {COLUMNS}, max(b.created_at) FROM {source}{where} GROUP BY b.name"
            " ORDER BY b.created_at DESC, b.rowid DESC"
        )
    else:
        sql = f"SELECT {COLUMNS} FROM {source}{where} ORDER BY b.created_at DESC, b.rowid DESC"
    if limit is not None:
        sql += " LIMIT ?"
        values.append(int(limit))
    return sql, values
