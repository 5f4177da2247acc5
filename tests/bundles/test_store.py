"""The store: write order, failures that leave nothing, catalog-only reads, blob races."""

from __future__ import annotations

import json

import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.catalog.errors import CatalogError
from tether.catalog.bundle_records import manifest_path
from tether.files.storages.local import LocalStorage
from tests.bundles.conftest import rewrite_manifest


def test_blobs_and_the_manifest_are_in_storage_before_the_catalog_row(ctx, store, monkeypatch, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"b" * 70_000)
    seen = {}
    add = store.index.add

    def checking_add(entry, **kwargs):
        seen["manifest"] = json.loads(store.manifest_bytes(entry))
        seen["blobs"] = all(store.blobs.exists(f.hash) for f in entry.files)
        return add(entry, **kwargs)

    monkeypatch.setattr(store.index, "add", checking_add)
    bundle = Bundle(ctx, name="ordered", data={"file": path, "bytes": b"i" * 10})
    assert seen["blobs"] and seen["manifest"]["uuid"] == bundle.uuid
    assert seen["manifest"]["tags"] == {} and seen["manifest"]["data"]["type"] == "dict"


def test_a_catalog_failure_removes_the_manifest(ctx, store, monkeypatch):
    def failing_add(entry, **kwargs):
        raise CatalogError("disk full")

    monkeypatch.setattr(store.index, "add", failing_add)
    bundle = Bundle(ctx, name="x").add_data([1])
    with pytest.raises(api.BundleError, match="cannot record bundle 'x'.*disk full"):
        bundle.close()
    assert not bundle.closed
    assert [p for p in store.storage.find("bundles/contexts") if p.endswith(".json") and "bundles/x" in p] == []
    # Its segment line stays, marked removed: a rebuild does not bring the bundle back.
    monkeypatch.undo()
    assert api.rebuild().bundles == 0 and api.search(ctx) == []


def test_search_and_listing_read_only_the_catalog(ctx, store, monkeypatch, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("1,2")
    first = Bundle(ctx, name="a", data=path, tags={"k": "v"})
    Bundle(ctx, name="b", data=b"x" * 100_000, dependencies={"a": first}, tags={"k": "v"})
    store.storage.rm("bundles", recursive=True)

    def no_reads(*args, **kwargs):
        raise AssertionError("bundle data was read")

    for name in ("open", "read", "find", "ls", "isfile", "exists", "walk"):
        monkeypatch.setattr(LocalStorage, name, no_reads)
    found = api.search(ctx, search_tags={"k": "v"})
    assert [b.name for b in found] == ["b", "a"]
    assert found[0].tags == {"k": "v"} and found[0].files and found[0].dependencies == {"a": first.uuid}
    assert api.get(ctx, "a").uuid == first.uuid and [c.name for c in api.ls_contexts()] == ["test"]
    assert [r.name for r in api.lineage(ctx, found[0].uuid)] == ["b", "a"]
    assert [r.name for r in api.downstream(ctx, first.uuid)] == ["a", "b"]
    with pytest.raises(AssertionError, match="was read"):
        found[0].data


def test_a_blob_removed_while_a_bundle_is_written_is_written_again(ctx, store, monkeypatch, tmp_path):
    path = tmp_path / "shared.bin"
    path.write_bytes(b"s" * 60_000)
    Bundle(ctx, name="old", data=path)
    add = store.index.add

    def racing_add(entry, **kwargs):
        # Another process removes the only other holder (and the blob) between
        # this writer's blob check and its catalog transaction.
        monkeypatch.setattr(store.index, "add", add)
        api.rm(ctx, "old")
        assert not store.blobs.exists(entry.files[0].hash)
        return add(entry, **kwargs)

    monkeypatch.setattr(store.index, "add", racing_add)
    Bundle(ctx, name="new", data=path)
    assert api.cat(ctx, "new").read_bytes() == b"s" * 60_000


def test_rebuild_skips_manifests_it_cannot_read(ctx, store):
    good = Bundle(ctx, name="good", data=1)
    bad = Bundle(ctx, name="bad", data=2)
    rewrite_manifest(store, bad._entry, "{not json")
    store.storage.touch("bundles/contexts/test/bundles/bad/not-a-uuid.json", "{}")
    report = api.rebuild()
    assert report.bundles == 1 and len(report.skipped) == 1 and "not valid JSON" in report.skipped[0]
    assert [b.uuid for b in api.search(ctx)] == [good.uuid]


def test_manifest_paths_encode_names_safely(ctx, store):
    for name in ("../../escape", ".hidden", "a/b", "x" * 300, "caf\u00e9", ""):
        if not name:
            with pytest.raises(api.BundleError, match="no name"):
                Bundle(ctx, name=name, data=1)
            continue
        bundle = Bundle(ctx, name=name, data=name)
        # Its markers' folder: where its manifest file is, or would be (its manifest is in a segment).
        path = manifest_path(ctx, name, bundle.uuid)
        assert path.startswith("bundles/contexts/test/bundles/") and path.count("/") == 5
        assert bundle._entry.home == path
        assert api.cat(ctx, name) == name
    assert api.rebuild().bundles == 5
