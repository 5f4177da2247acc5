"""Content-addressed files: stored once, written atomically, verified on every read."""

from __future__ import annotations

import json
import os

import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.blobs import BlobStore, digest_bytes, digest_file
from tether.files.storages.memory import MemoryStorage
from tests.bundles.conftest import cut_manifest, rewrite_manifest


def test_digests_are_xxh3_128_hex(tmp_path):
    assert digest_bytes(b"") == "99aa06d3014798d86001c324468d497f"
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    assert digest_file(path) == (digest_bytes(b"abc" * 1000), 3000)


def test_a_file_is_stored_once_however_many_bundles_hold_it(ctx, store, tmp_path):
    content = os.urandom(40_000)
    for index in range(3):
        path = tmp_path / f"copy{index}.bin"
        path.write_bytes(content)
        Bundle(ctx, name=f"b{index}", data=path)
    blobs = [p for p in store.storage.find("bundles/blobs")]
    assert blobs == [store.blobs.path(digest_bytes(content))]
    assert store.index.holders(digest_bytes(content)).__len__() == 3


def test_large_data_goes_to_a_blob_and_small_data_stays_in_the_manifest(ctx, store):
    small = Bundle(ctx, name="small", data=b"x" * 100)
    large = Bundle(ctx, name="large", data=b"y" * 100_000)
    assert small.files == [] and [f.path for f in large.files] == [f".data/{digest_bytes(b'y' * 100_000)}"]
    assert api.cat(ctx, "small") == b"x" * 100 and api.cat(ctx, "large") == b"y" * 100_000


def test_a_changed_byte_in_a_blob_names_the_bundle_and_the_file(ctx, store, tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x01" * 5000)
    bundle = Bundle(ctx, name="model", data={"weights": path})
    blob = store.storage.local_path(store.blobs.path(bundle.files[0].hash))
    with open(blob, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x02")
    with pytest.raises(api.BundleCorruptError, match=rf"'model' \({bundle.uuid}\).*file 'weights.bin' changed"):
        api.cat(ctx, "model")


def test_a_changed_payload_blob_or_inline_data_is_refused(ctx, store):
    large = Bundle(ctx, name="large", data=b"z" * 100_000)
    blob = store.storage.local_path(store.blobs.path(large.files[0].hash))
    with open(blob, "r+b") as handle:
        handle.write(b"Z")
    with pytest.raises(api.BundleCorruptError, match="'large'.*data changed"):
        api.cat(ctx, "large")
    small = Bundle(ctx, name="small", data=b"s" * 10)
    manifest = json.loads(store.manifest_bytes(api.get(ctx, "small")._entry))
    digest = next(iter(manifest["inline"]))
    manifest["inline"][digest] = "AAAA"
    rewrite_manifest(store, small._entry, json.dumps(manifest, separators=(",", ":")))
    with pytest.raises(api.BundleCorruptError, match="'small'.*hash mismatch"):
        api.cat(ctx, "small")


def test_missing_blobs_and_manifests_are_reported(ctx, store, tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("hello")
    bundle = Bundle(ctx, name="f", data=path)
    store.storage.rm(store.blobs.path(bundle.files[0].hash))
    with pytest.raises(api.BundleCorruptError, match="'f'.*file 'f.txt' is missing"):
        api.cat(ctx, "f")
    other = Bundle(ctx, name="g", data=1)
    cut_manifest(store, other._entry)
    with pytest.raises(api.BundleCorruptError, match="manifest .* is missing.*catalog rebuild"):
        api.cat(ctx, "g")


def test_edits_to_a_materialized_copy_do_not_reach_the_bundle(ctx, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("original")
    Bundle(ctx, name="d", data=path)
    copy = api.cat(ctx, "d")
    copy.write_text("edited")
    assert api.cat(ctx, "d").read_text() == "original"


def test_blob_writes_are_atomic_and_skip_present_blobs(tmp_path):
    storage = MemoryStorage("memory://blobs-test")
    blobs = BlobStore(storage)
    digest = digest_bytes(b"data")
    blobs.put_bytes(digest, b"data")
    blobs.put_bytes(digest, b"not written: the address is taken")
    assert storage.read(blobs.path(digest)) == b"data"
    assert blobs.read(digest, bundle="b", what="data") == b"data"
    blobs.delete(digest)
    blobs.delete(digest)
    assert not blobs.exists(digest)


def test_bundles_work_on_memory_storage(memory_storage):
    from tether.bundles.store import current_store

    assert current_store().storage.root.startswith("memory://")
    api.context("mem")
    Bundle("mem", name="x", data={"a": (1, 2)}, tags={"k": "v"})
    Bundle("mem", name="big", data=b"m" * 100_000)
    assert api.cat("mem", "x") == {"a": (1, 2)} and api.cat("mem", "big") == b"m" * 100_000
    assert memory_storage.isfile("bundles/contexts/mem/context.json")


def test_a_file_that_changes_after_it_was_hashed_is_not_stored(ctx, store, tmp_path, monkeypatch):
    from tether.bundles import files

    path = tmp_path / "moving.csv"
    path.write_text("first")
    real = files.digest_file

    def hash_then_change(source):
        found = real(source)
        path.write_text("second, longer")
        return found

    monkeypatch.setattr(files, "digest_file", hash_then_change)
    bundle = Bundle(ctx, name="moving").add_data(path)
    with pytest.raises(api.BundleDataError, match="'moving'.*file 'moving.csv' changed while the bundle was being written"):
        bundle.close()
    assert store.storage.find("bundles/blobs") == [] and not bundle.closed
    monkeypatch.setattr(files, "digest_file", real)
    bundle.close()
    assert api.cat(ctx, "moving").read_text() == "second, longer"
