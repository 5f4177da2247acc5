"""Rebuilding the bundle index from manifests in storage."""

from __future__ import annotations

import json

from tether.catalog.bundle_rebuild import iter_manifests, rebuild_bundles
from tether.catalog.bundle_records import BundleEntry, FileEntry, commit_marker_path, context_marker_path, manifest_path

UUIDS = [f"12345678-1234-4678-9234-56781234567{i}" for i in range(4)]


def _write(storage, context, name, uuid, *, seconds=0, committed=False, deps=None):
    path = manifest_path(context, name, uuid)
    entry = BundleEntry(
        uuid=uuid, context=context, name=name, created_at=f"2024-01-01T00:00:0{seconds}+00:00",
        tags={"k": name}, dependencies=deps or {}, files=[FileEntry("x", "h" + uuid[-1], 1)],
    )
    storage.touch(path, json.dumps({**entry.manifest_fields(), "data": {"type": "json", "value": 1}, "inline": {}}))
    if committed:
        storage.touch(commit_marker_path(path), "{}")
    return path


def test_rebuild_reads_manifests_contexts_and_commit_flags(catalog, storage):
    storage.touch(context_marker_path("empty"), json.dumps({"name": "empty", "created_at": "2023-01-01T00:00:00+00:00"}))
    _write(storage, "c", "a/b", UUIDS[0], seconds=1, committed=True)
    _write(storage, "c", "two", UUIDS[1], seconds=2, deps={"in": UUIDS[0]})
    storage.touch(manifest_path("c", "bad", UUIDS[2]), "{oops")
    _write(storage, "wrong", "moved", UUIDS[3])
    storage.touch(manifest_path("c", "moved", UUIDS[3]), storage.read(manifest_path("wrong", "moved", UUIDS[3])))
    storage.rm(manifest_path("wrong", "moved", UUIDS[3]))
    assert len(list(iter_manifests(storage))) == 4
    catalog.bundles.create_context("stale")
    report = rebuild_bundles(catalog, storage)
    assert (report.contexts, report.bundles, len(report.skipped)) == (2, 2, 2)
    assert [c.name for c in catalog.bundles.list_contexts()] == ["c", "empty"]
    found = catalog.bundles.find("c")
    assert [(e.name, e.committed) for e in found] == [("two", False), ("a/b", True)]
    assert found[0].dependencies == {"in": UUIDS[0]} and found[1].tags == {"k": "a/b"}
    assert catalog.bundles.get_context("c").created_at.startswith("2024-01-01T00:00:01")


def test_rebuild_of_an_empty_storage_empties_the_index(catalog, storage):
    catalog.bundles.create_context("c")
    report = catalog.rebuild_bundles(storage)
    assert (report.contexts, report.bundles) == (0, 0) and catalog.bundles.list_contexts() == []
