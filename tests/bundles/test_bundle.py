"""`Bundle`: building, closing, immutability, files, metadata and the seed's properties."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.store import current_store


def _rows(store, table: str) -> int:
    return store.index.database.read(lambda c: c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_one_call_creates_and_closes(ctx, make_frame):
    frame = make_frame()
    bundle = Bundle(ctx, name="features", data=frame, tags={"a": "1", "b": "2"})
    assert bundle.closed and bundle.name == "features" and bundle.context == ctx
    assert bundle.tags == {"a": "1", "b": "2"} == bundle.user_tags
    assert isinstance(bundle.creation_date, dt.datetime) and bundle.creation_date.tzinfo is not None
    assert api.cat(ctx, "features").equals(frame)
    with pytest.raises(api.BundleClosedError, match="closed and cannot change"):
        bundle.add_tags({"c": "3"})


def test_without_data_the_bundle_stays_open_until_closed(ctx):
    bundle = Bundle(ctx, name="later")
    assert not bundle.closed and bundle.creation_date is None
    assert api.get(ctx, "later") is None
    bundle.open().add_data([1, 2]).close()
    assert api.cat(ctx, "later") == [1, 2]


def test_with_block_closes_at_the_end(ctx):
    with Bundle(ctx, name="block") as bundle:
        bundle.add_data({"x": 1}).add_params({"lr": 0.1, "layers": [1, 2]}).add_code_ref("pkg.mod.train")
        bundle.add_git_info("https://example.com/repo", "0" * 40, "main").add_timing(10.0, 12.5)
    loaded = api.get(ctx, "block")
    assert loaded.data == {"x": 1} and loaded.params == {"layers": [1, 2], "lr": 0.1}
    assert loaded.code_ref == "pkg.mod.train" and loaded.git_info == ("https://example.com/repo", "0" * 40, "main")
    assert loaded.timing == (10.0, 12.5) and loaded.owner == bundle.owner
    assert loaded.processing_name.startswith("pkg.mod.train_")


def test_a_with_block_that_raises_writes_nothing(ctx, store):
    manifests_before = store.storage.find("bundles/contexts")
    with pytest.raises(RuntimeError):
        with Bundle(ctx, name="failed") as bundle:
            bundle.add_data([1, 2, 3])
            path = bundle.make_file("out.csv")
            path.write_text("partial")
            staging = bundle.local_dir
            raise RuntimeError("task failed")
    assert api.search(ctx) == [] and api.get(ctx, "failed") is None
    assert _rows(store, "bundles") == 0 and _rows(store, "bundle_files") == 0
    assert store.storage.find("bundles/contexts") == manifests_before
    assert not os.path.exists(staging)
    with pytest.raises(api.BundleClosedError, match="abandoned"):
        bundle.close()


def test_a_close_that_fails_leaves_nothing_and_the_bundle_open(ctx, store):
    bundle = Bundle(ctx, name="bad").add_data(object())
    with pytest.raises(api.BundleDataError):
        bundle.close()
    assert not bundle.closed and _rows(store, "bundles") == 0
    bundle.add_data("fixed").close()
    assert api.cat(ctx, "bad") == "fixed"


def test_the_default_name_comes_from_the_code_ref(ctx):
    def make_features():
        return None

    bundle = Bundle(ctx, code_method="pkg.jobs.make_features", data=1)
    assert bundle.name == "make_features"
    assert Bundle(ctx).add_code_ref(make_features).add_data(2).close().name == "make_features"
    with pytest.raises(api.BundleError, match="no name"):
        Bundle(ctx).add_data(3).close()


def test_make_file_make_directory_and_copy_in_file(ctx, tmp_path):
    source = tmp_path / "existing.bin"
    source.write_bytes(b"abc")
    with Bundle(ctx, name="files") as bundle:
        target = bundle.make_file("reports/summary.txt")
        target.write_text("ok")
        folder = bundle.make_directory("shards")
        (folder / "a").mkdir()
        (folder / "a" / "part.csv").write_text("1")
        (folder / "b").mkdir()
        (folder / "b" / "part.csv").write_text("2")
        copied = bundle.copy_in_file(source)
        with pytest.raises(api.BundleError, match="already has a file 'existing.bin'"):
            bundle.copy_in_file(source)
        second = bundle.copy_in_file(source, name="again.bin")
        bundle.add_data([target, folder, copied, second])
    summary, shards, existing, again = api.cat(ctx, "files")
    assert summary.read_text() == "ok" and summary.parts[-2:] == ("reports", "summary.txt")
    assert (shards / "a" / "part.csv").read_text() == "1" and (shards / "b" / "part.csv").read_text() == "2"
    assert existing.read_bytes() == b"abc" and again.name == "again.bin"
    paths = sorted(f.path for f in bundle.files)
    assert paths == ["again.bin", "existing.bin", "reports/summary.txt", "shards/a/part.csv", "shards/b/part.csv"]
    assert bundle.local_dir is None


def test_paths_cannot_leave_the_bundle(ctx):
    bundle = Bundle(ctx, name="x")
    for bad in ("../escape.txt", "", "a/../../b"):
        with pytest.raises(ValueError, match="not a path inside a bundle"):
            bundle.make_file(bad)
    assert bundle.make_file("/rooted.txt").name == "rooted.txt"


def test_dependencies_record_lineage(ctx):
    first = Bundle(ctx, name="raw", data=1)
    second = Bundle(ctx, name="clean", data=2)
    child = Bundle(ctx, name="model", dependencies={"raw": first}).add_dependency(second.uuid, "clean")
    child.add_dependencies([first], ["again"]).add_data(3).close()
    assert child.dependencies == {"again": first.uuid, "clean": second.uuid, "raw": first.uuid}
    assert child.lineage.depends_on == child.dependencies and child.lineage.depth == 0
    unnamed = Bundle(ctx, name="u").add_dependencies([first, second]).add_data(0).close()
    assert unnamed.dependencies == {"_arg_0": first.uuid, "_arg_1": second.uuid}
    with pytest.raises(api.BundleError, match="not a bundle uuid"):
        Bundle(ctx, name="v").add_dependency("not-a-uuid")
    with pytest.raises(api.BundleError, match="close it first"):
        Bundle(ctx, name="w").add_dependency(Bundle(ctx, name="open"))


def test_tags_and_params_are_checked(ctx):
    bundle = Bundle(ctx, name="checked")
    with pytest.raises(api.BundleError, match="not str to str"):
        bundle.add_tags({"epoch": 3})
    with pytest.raises(api.BundleError, match="param 'when' is a datetime"):
        bundle.add_params({"when": dt.datetime.now()})
    with pytest.raises(api.BundleError, match="param 'x' is a float"):
        bundle.add_params({"x": float("nan")})


def test_commit_and_rm_on_a_bundle(ctx):
    bundle = Bundle(ctx, name="kept", data="v")
    assert not bundle.committed
    bundle.commit()
    assert bundle.committed and api.get(ctx, "kept").committed
    with pytest.raises(api.BundleError, match="committed; pass force=True"):
        bundle.rm()
    bundle.rm(force=True)
    assert api.get(ctx, "kept") is None
    with pytest.raises(api.BundleNotFoundError, match="removed already"):
        bundle.rm(force=True)
    with pytest.raises(api.BundleError, match="close it first"):
        Bundle(ctx, name="open").commit()


def test_cat_and_data_of_open_and_closed_bundles(ctx):
    bundle = Bundle(ctx, name="d").add_data([1])
    assert bundle.data == [1]
    with pytest.raises(api.BundleError, match="close it first"):
        bundle.cat()
    bundle.close()
    assert bundle.cat() == [1] and bundle.data is bundle.data


def test_force_uuid_and_duplicate_uuids(ctx):
    uuid = "12345678-1234-5678-1234-567812345678"
    assert Bundle(ctx, name="a").open(force_uuid=uuid).add_data(1).close().uuid == uuid
    with pytest.raises(api.BundleError, match="already in the catalog"):
        Bundle(ctx, name="b").open(force_uuid=uuid).add_data(2).close()
    with pytest.raises(api.BundleError, match="not a UUID"):
        Bundle(ctx, name="c").open(force_uuid="nope")


def test_unknown_contexts_are_refused_and_default_is_created_on_write(project):
    with pytest.raises(api.ContextNotFoundError, match="no data context 'nowhere'"):
        Bundle("nowhere", name="x")
    assert api.ls_contexts() == []
    bundle = Bundle(None, name="x", data=1)
    assert bundle.context == api.DEFAULT_CONTEXT and api.ls_contexts() == [(api.DEFAULT_CONTEXT, None)]


def test_seed_properties_and_unavailable_methods(ctx):
    bundle = Bundle(ctx, name="p", data=1)
    assert bundle.is_presentable and bundle.remote_dir is None and bundle.local_dir is None
    assert bundle == api.get(ctx, uuid=bundle.uuid) and hash(bundle) == hash(bundle.uuid)
    assert "closed" in repr(bundle)
    with pytest.raises(api.BundleError, match="has no remote; bind one"):
        bundle.push()
    with pytest.raises(api.NotAvailableError, match="database tables"):
        Bundle(ctx, name="q").db_table("dsn", "t", "s")
    with pytest.raises(api.NotAvailableError, match="hyperframes"):
        Bundle(ctx, name="q").fill_from_hfr(None)
    assert Bundle.get_file is Bundle.make_file and Bundle.get_directory is Bundle.make_directory


def test_an_open_bundle_dropped_without_close_leaves_no_staging(ctx):
    bundle = Bundle(ctx, name="dropped")
    staging = bundle.make_file("x.txt").parent
    assert staging.is_dir()
    del bundle
    import gc

    gc.collect()
    assert not staging.exists()


def test_staging_folders_of_dead_processes_are_swept(ctx, project):
    from tether.bundles import files

    root = Path(current_store().local_dir) / "staging"
    stale = root / "999999999-dead"
    stale.mkdir(parents=True)
    files._swept.discard(str(root))
    Bundle(ctx, name="s").make_file("x")
    assert not stale.exists()



def test_a_forked_child_never_removes_the_parents_staging(ctx):
    bundle = Bundle(ctx, name="parent")
    path = bundle.make_file("x.txt")
    path.write_text("kept")
    pid = os.fork()
    if pid == 0:
        try:
            bundle.abandon()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert path.read_text() == "kept"
    assert bundle.add_data(path).close().closed
