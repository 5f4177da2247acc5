"""Manifest segments: one appended file per process and context on local storage."""

from __future__ import annotations

import multiprocessing
import os

import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.store import BundleStore
from tether.catalog.bundle_records import removed_marker_path, split_segment_ref
from tether.files.storages.memory import MemoryStorage

FORK = multiprocessing.get_context("fork")


def _segment(bundle: Bundle) -> str:
    found = split_segment_ref(bundle._entry.manifest_path)
    assert found is not None, bundle._entry.manifest_path
    return found[0]


def _segments(store: BundleStore) -> list[str]:
    return [path for path in store.storage.find("bundles/contexts/test") if path.endswith(".jsonl")]


def test_a_process_appends_its_manifests_to_one_segment(ctx, store):
    made = [Bundle(ctx, name=f"b{n % 3}", data={"n": n}, tags={"n": str(n)}) for n in range(20)]
    assert {_segment(bundle) for bundle in made} == set(_segments(store)) and len(_segments(store)) == 1
    assert _segment(made[0]).startswith(f"bundles/contexts/test/segments/{os.getpid()}-")
    assert [api.get(ctx, uuid=b.uuid).data for b in made] == [{"n": n} for n in range(20)]
    assert store.storage.find("bundles/contexts/test/bundles") == []  # no file per bundle
    report = api.rebuild()
    assert report.bundles == 20 and report.skipped == []
    assert api.get(ctx, uuid=made[7].uuid).tags == {"n": "7"}


def test_a_torn_last_line_is_skipped_by_a_rebuild(ctx, store):
    kept = Bundle(ctx, name="kept", data=1).commit()
    path = store.storage.local_path(_segment(kept))
    with open(path, "ab") as handle:
        handle.write(b'{"format":1,"uuid":"0f0f0f0f-')  # a writer killed half-way through a line
    report = api.rebuild()
    assert report.bundles == 1 and report.skipped == []
    [found] = api.search(ctx)
    assert found.uuid == kept.uuid and found.committed and found.data == 1


def test_removed_bundles_stay_removed_after_a_rebuild(ctx, store):
    first = Bundle(ctx, name="a", data=1)
    second = Bundle(ctx, name="a", data=2)
    api.rm(ctx, "a", rm_old_only=True)
    assert store.storage.isfile(removed_marker_path(first._entry.home))
    assert api.rebuild().bundles == 1
    assert [b.uuid for b in api.search(ctx)] == [second.uuid]
    # Pulled again from elsewhere (a manifest file of its own), it is not taken for the removed line.
    store.storage.touch(first._entry.home, store.manifest_bytes(first._entry))
    assert sorted(b.data for b in api.search(ctx)) == [2]
    assert api.rebuild().bundles == 2


def test_a_segment_goes_when_its_bundles_are_removed_and_its_writer_is_done(ctx, store):
    made = [Bundle(ctx, name="x", data=n) for n in range(3)]
    segment = _segment(made[0])
    api.rm(ctx, "x", rm_all=True)
    assert _segments(store) == [segment]  # still open here: a line may be on its way
    store.segments.close()
    assert _segments(store) == []
    assert [p for p in store.storage.find("bundles/contexts/test") if p.endswith(".removed")] == []
    later = Bundle(ctx, name="x", data=9)  # a new segment is begun
    assert _segment(later) != segment and api.cat(ctx, "x") == 9


def _hold_a_segment(ready, done) -> None:  # in a forked child
    Bundle("test", name="child", data="from the child")
    ready.set()
    done.wait(30)


@pytest.mark.slow
def test_a_segment_another_process_writes_to_is_left_until_it_exits(ctx, store):
    ready, done = FORK.Event(), FORK.Event()
    child = FORK.Process(target=_hold_a_segment, args=(ready, done))
    child.start()
    try:
        assert ready.wait(30)
        [segment] = _segments(store)
        api.rm(ctx, "child")
        assert _segments(store) == [segment]  # its writer may still append
    finally:
        done.set()
        child.join(30)
    assert child.exitcode == 0
    # A multiprocessing worker skips exit handlers: the next removal in the context collects it.
    Bundle(ctx, name="other", data=1)
    api.rm(ctx, "other")
    assert segment not in _segments(store)


def _write_one(name: str) -> None:
    Bundle("test", name=name, data=name)


def test_a_forked_child_writes_a_segment_of_its_own(ctx, store):
    parent = Bundle(ctx, name="parent", data="p")
    child = FORK.Process(target=_write_one, args=("child",))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert len(_segments(store)) == 2
    after = Bundle(ctx, name="after", data="a")
    assert _segment(after) == _segment(parent)
    assert sorted(b.data for b in api.search(ctx)) == ["a", "child", "p"]
    assert api.rebuild().bundles == 3


def test_storage_without_local_files_keeps_a_manifest_file_per_bundle(ctx, store):
    remote = BundleStore(store.index, MemoryStorage("memory://segments-test"), base_dir=store.base_dir,
                         allow_pickle=False)
    assert not remote.segments.enabled
    entry = api.get(ctx, uuid=Bundle(ctx, name="local", data=1).uuid)._entry
    entry.uuid = "0b0b0b0b-0000-4000-8000-000000000000"
    remote.write_manifests([entry], ['{"uuid": "0b0b0b0b-0000-4000-8000-000000000000"}'])
    assert entry.manifest_path == entry.home
    assert remote.storage.read(entry.home) == b'{"uuid": "0b0b0b0b-0000-4000-8000-000000000000"}'
