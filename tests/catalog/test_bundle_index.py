"""The bundle index: contexts, bundles, exact and pattern search, lineage, blob bookkeeping."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime, timedelta, timezone

import pytest

from tether.catalog import CatalogError
from tether.catalog.bundle_index import glob_pattern
from tether.catalog.bundle_records import BundleEntry, FileEntry

START = datetime(2024, 3, 1, tzinfo=timezone.utc)


def entry(name="b", *, context="ctx", seconds=0, tags=None, deps=None, files=None, committed=False):
    uuid = str(uuid_module.uuid4())
    return BundleEntry(
        uuid=uuid, context=context, name=name, created_at=START + timedelta(seconds=seconds),
        tags=tags or {}, dependencies=deps or {}, files=files or [], committed=committed,
        manifest_path=f"m/{uuid}.json",
    )


@pytest.fixture
def index(catalog):
    catalog.bundles.create_context("ctx")
    return catalog.bundles


def test_contexts(index):
    assert index.create_context("other") and not index.create_context("other")
    assert [c.name for c in index.list_contexts()] == ["ctx", "other"]
    assert index.get_context("nope") is None and index.get_context("ctx").name == "ctx"
    with pytest.raises(CatalogError, match="cannot name"):
        index.create_context("a b")


def test_add_needs_an_existing_context_and_a_new_uuid(index):
    with pytest.raises(CatalogError, match="data context 'missing' does not exist"):
        index.add(entry(context="missing"))
    first = entry()
    index.add(first)
    with pytest.raises(CatalogError, match="already in the catalog"):
        index.add(first)
    assert index.count() == 1 and index.count("ctx") == 1


def test_glob_pattern_escapes_everything_but_the_star():
    assert glob_pattern("a.b*") == ("a.b*", "a.b")
    assert glob_pattern("x?[y]*z") == ("x[?][[]y]*z", "x?[y]")
    assert glob_pattern("*") == ("*", "")


def test_find_filters_and_orders_newest_first_with_ties_by_insertion(index):
    same_time = [entry("t", seconds=5, tags={"k": "v"}) for _ in range(3)]
    for item in same_time:
        index.add(item)
    index.add(entry("t.x", seconds=1, tags={"k": "v", "z": "1"}, committed=True))
    index.add(entry("tax", seconds=2))
    assert [e.uuid for e in index.find("ctx", name="t")] == [e.uuid for e in reversed(same_time)]
    assert [e.name for e in index.find("ctx", pattern="t.*")] == ["t.x"]
    assert {e.name for e in index.find("ctx", pattern="t*")} == {"t", "t.x", "tax"}
    assert [e.name for e in index.find("ctx", tags={"k": "v", "z": "1"})] == ["t.x"]
    assert [e.name for e in index.find("ctx", committed=True)] == ["t.x"]
    assert len(index.find("ctx", committed=False)) == 4
    assert [e.name for e in index.find("ctx", before=START + timedelta(seconds=2))] == ["t.x"]
    assert [e.name for e in index.find("ctx", after=START + timedelta(seconds=2), pattern="ta*")] == ["tax"]
    assert index.find("ctx", limit=2, details=False)[0].tags == {}
    assert index.find("other") == [] and len(index.find(None)) == 5


def test_tag_search_is_driven_by_the_tag_index(index):
    index.add(entry(tags={"run": "r1"}))
    connection = index.database.connection()
    sql = (
        "EXPLAIN QUERY PLAN SELECT b.uuid FROM bundle_tags t0 CROSS JOIN bundles b"
        " WHERE t0.key = ? AND t0.value = ? AND b.uuid = t0.uuid AND b.context = ?"
    )
    plan = " ".join(row[-1] for row in connection.execute(sql, ("run", "r1", "ctx")))
    assert "bundle_tags_by_value" in plan and "SCAN b" not in plan


def test_lineage_and_downstream_walk_each_bundle_once(index):
    raw = entry("raw")
    left = entry("left", deps={"in": raw.uuid})
    right = entry("right", deps={"in": raw.uuid})
    top = entry("top", deps={"l": left.uuid, "r": right.uuid, "gone": "00000000-0000-4000-8000-000000000000"})
    for item in (raw, left, right, top):
        index.add(item)
    up = index.lineage(top.uuid)
    assert [(r.depth, r.name) for r in up][:1] == [(0, "top")]
    assert sorted((r.depth, r.name or "?") for r in up) == [(0, "top"), (1, "?"), (1, "left"), (1, "right"), (2, "raw")]
    assert not [r for r in up if r.name is None][0].found
    down = index.downstream(raw.uuid)
    assert [r.name for r in down][0] == "raw" and sorted(r.name for r in down[1:3]) == ["left", "right"]
    assert [r.name for r in down][3] == "top" and len(down) == 4
    assert index.lineage(top.uuid, max_depth=0)[0].depends_on == top.dependencies
    with pytest.raises(CatalogError, match="max_depth"):
        index.lineage(top.uuid, max_depth="2")


def test_roots_and_intermediates(index):
    raw = entry("raw")
    index.add(raw)
    index.add(entry("used", deps={"in": raw.uuid}))
    assert [e.name for e in index.find("ctx", intermediates=True)] == ["raw"]
    assert [e.name for e in index.find("ctx", roots=True)] == ["used"]


def test_blob_bookkeeping(index):
    shared = FileEntry("a.bin", "h1", 10)
    first = entry("one", files=[shared, FileEntry("b.bin", "h2", 5)])
    second = entry("two", files=[FileEntry("copy.bin", "h1", 10)])
    checked = []
    index.add(first, check_blob=checked.append)
    index.add(second, check_blob=checked.append)
    assert [f.hash for f in checked] == ["h1", "h2"]
    assert sorted(index.holders("h1")) == sorted([first.uuid, second.uuid])
    assert index.find("ctx", name="one")[0].files == sorted(first.files)
    candidates = index.remove([first.uuid])
    assert candidates == ["h1", "h2"]
    deleted = []
    assert index.collect_blobs(candidates, deleted.append) == ["h2"] == deleted
    assert index.collect_blobs([], deleted.append) == []


def test_set_committed_and_remove_context(index):
    one = entry("one", files=[FileEntry("a", "h", 1)])
    index.add(one)
    assert index.set_committed([one.uuid]) == 1 and index.set_committed([one.uuid]) == 0
    assert index.find("ctx")[0].committed
    removed, hashes = index.remove_context("ctx")
    assert [e.uuid for e in removed] == [one.uuid] and hashes == ["h"]
    assert index.list_contexts() == [] and index.count() == 0


def test_add_many_and_replace_all(index):
    assert index.add_many(entry(f"n{i}", files=[FileEntry("f", f"h{i}", 1)]) for i in range(5)) == 5
    from tether.catalog.bundle_records import ContextEntry

    kept = entry("kept", context="new")
    assert index.replace_all([ContextEntry("new", "2024-01-01T00:00:00+00:00")], [kept]) == 1
    assert [c.name for c in index.list_contexts()] == ["new"] and [e.name for e in index.find(None)] == ["kept"]
