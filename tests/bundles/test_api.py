"""The module functions: search, get, cat, commit, rm, lineage, downstream and add."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

import tether.bundles as api
from tether.bundles import Bundle


@pytest.fixture
def named(ctx):
    """Bundles whose names use every character SQL or a glob treats specially."""
    names = ["a.b", "axb", "a_b", "a%b", "it's", 'say "hi"', "x*y", "x?y", "x[1]", "dag.task", "dag.task2", "dagXtask"]
    return {name: Bundle(ctx, name=name, data=name) for name in names}


def test_exact_names_match_only_themselves(ctx, named):
    for name in named:
        if "*" in name:
            continue
        assert [b.name for b in api.search(ctx, name)] == [name], name
        assert api.get(ctx, name).data == name
    assert api.search(ctx, "a.c") == [] and api.search(ctx, "a_") == [] and api.search(ctx, "a%") == []
    assert api.search(ctx, "' OR '1'='1") == [] and api.search(ctx, "dag%") == []
    assert sorted(b.name for b in api.search(ctx, "x*y")) == ["x*y", "x?y"]


def test_the_star_is_the_only_wildcard(ctx, named):
    assert sorted(b.name for b in api.search(ctx, "dag.*")) == ["dag.task", "dag.task2"]
    assert sorted(b.name for b in api.search(ctx, "a*b")) == ["a%b", "a.b", "a_b", "axb"]
    assert sorted(b.name for b in api.search(ctx, "x?*")) == ["x?y"]
    assert sorted(b.name for b in api.search(ctx, "x[*")) == ["x[1]"]
    assert sorted(b.name for b in api.search(ctx, "*task")) == ["dag.task", "dagXtask"]
    assert len(api.search(ctx, "*")) == len(named)


def test_search_by_tags_is_an_and_of_exact_matches(ctx):
    Bundle(ctx, name="one", data=1, tags={"run": "r1", "kind": "model"})
    Bundle(ctx, name="two", data=2, tags={"run": "r1", "kind": "data"})
    Bundle(ctx, name="three", data=3, tags={"run": "r2", "kind": "model", "note": "100%_sure"})
    assert {b.name for b in api.search(ctx, search_tags={"run": "r1"})} == {"one", "two"}
    assert [b.name for b in api.search(ctx, search_tags={"run": "r1", "kind": "model"})] == ["one"]
    assert [b.name for b in api.search(ctx, "one", search_tags={"run": "r1"})] == ["one"]
    assert api.search(ctx, search_tags={"run": "r%"}) == [] and api.search(ctx, search_tags={"run": "r_"}) == []
    assert [b.name for b in api.search(ctx, search_tags={"note": "100%_sure"})] == ["three"]
    assert api.search(ctx, search_tags={"run": "r1", "missing": "x"}) == []
    with pytest.raises(api.BundleError, match="dict of str to str"):
        api.search(ctx, search_tags={"run": 1})


def test_results_are_newest_first_and_get_returns_the_newest(ctx):
    made = [Bundle(ctx, name="v", data=index, tags={"even": str(index % 2 == 0)}) for index in range(5)]
    assert [b.uuid for b in api.search(ctx, "v")] == [b.uuid for b in reversed(made)]
    assert api.get(ctx, "v").data == 4
    assert api.get(ctx, "v", tags={"even": "False"}).data == 3
    assert api.get(ctx, "other-name", uuid=made[1].uuid).data == 1
    assert api.get(ctx, "v", uuid=made[1].uuid, tags={"even": "True"}) is None
    assert api.get(ctx, "nothing") is None
    assert [b.data for b in api.search(ctx, "v", limit=2)] == [4, 3]
    with pytest.raises(api.BundleError, match="bundle_name or a uuid"):
        api.get(ctx)


def test_cat_of_nothing_raises_not_found(ctx):
    Bundle(ctx, name="there", data={"k": "v"})
    assert api.cat(ctx, "there") == {"k": "v"}
    with pytest.raises(api.BundleNotFoundError, match="no bundle with name 'missing' in data context 'test'"):
        api.cat(ctx, "missing")


def test_committed_filter_and_commit(ctx):
    old = Bundle(ctx, name="m", data=1)
    new = Bundle(ctx, name="m", data=2)
    committed = api.commit(ctx, "m")
    assert committed.uuid == new.uuid and committed.committed
    api.commit(ctx, None, uuid=old.uuid)
    Bundle(ctx, name="m", data=3)
    assert [b.data for b in api.search(ctx, "m", is_committed=True)] == [2, 1]
    assert [b.data for b in api.search(ctx, "m", is_committed=False)] == [3]
    with pytest.raises(api.BundleNotFoundError, match="nothing to commit"):
        api.commit(ctx, "absent")
    committed_marker = api.get(ctx, uuid=new.uuid)
    assert committed_marker.committed


def test_before_and_after(ctx):
    first = Bundle(ctx, name="t", data=1)
    time.sleep(0.01)
    middle = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.01)
    Bundle(ctx, name="t", data=2)
    assert [b.data for b in api.search(ctx, "t", before=middle)] == [1]
    assert [b.data for b in api.search(ctx, "t", after=middle)] == [2]
    assert [b.data for b in api.search(ctx, "t", after=middle.isoformat())] == [2]
    tomorrow = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%m-%d-%Y")
    assert len(api.search(ctx, "t", before=tomorrow)) == 2 and api.search(ctx, "t", after=tomorrow) == []
    yesterday = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%m-%d-%Y %H:%M:%S")
    assert len(api.search(ctx, "t", after=yesterday)) == 2
    assert first.creation_date < middle
    with pytest.raises(api.BundleError, match="not a date"):
        api.search(ctx, before="yesterday")


def _diamond(ctx):
    """raw -> (left, right) -> joined -> report, plus an unrelated bundle."""
    raw = Bundle(ctx, name="raw", data=0, code_method="jobs.load")
    left = Bundle(ctx, name="left", data=1, dependencies={"input": raw})
    right = Bundle(ctx, name="right", data=2, dependencies={"input": raw})
    joined = Bundle(ctx, name="joined", data=3, dependencies={"left": left, "right": right})
    report = Bundle(ctx, name="report", data=4, dependencies={"table": joined})
    Bundle(ctx, name="alone", data=5)
    return raw, left, right, joined, report


def test_lineage_is_breadth_first_each_bundle_once(ctx):
    raw, left, right, joined, report = _diamond(ctx)
    records = api.lineage(ctx, report.uuid)
    assert [(r.depth, r.name) for r in records] == [(0, "report"), (1, "joined"), (2, "left"), (2, "right"), (3, "raw")]
    top = records[0]
    assert top.depends_on == {"table": joined.uuid} and top.processing_name == report.processing_name
    assert records[-1].code_method == "jobs.load" and records[-1].creation_date == raw.creation_date
    assert [r.name for r in api.lineage(ctx, report.uuid, max_depth=1)] == ["report", "joined"]
    assert [r.name for r in api.lineage(ctx, report.uuid, max_depth=0)] == ["report"]


def test_downstream_answers_who_used_a_bundle(ctx):
    raw, left, right, joined, report = _diamond(ctx)
    records = api.downstream(ctx, raw.uuid)
    assert [(r.depth, r.name) for r in records] == [(0, "raw")] + sorted(
        [(1, "left"), (1, "right")], key=lambda item: {"left": left.uuid, "right": right.uuid}[item[1]]
    ) + [(2, "joined"), (3, "report")]
    assert [r.name for r in api.downstream(ctx, joined.uuid, max_depth=1)] == ["joined", "report"]


def test_lineage_keeps_upstream_bundles_that_were_removed(ctx):
    raw, left, right, joined, report = _diamond(ctx)
    api.rm(ctx, uuid=raw.uuid)
    records = api.lineage(ctx, left.uuid)
    assert [r.uuid for r in records] == [left.uuid, raw.uuid]
    assert not records[1].found and records[1].name is None
    with pytest.raises(api.BundleNotFoundError, match="no bundle"):
        api.lineage(ctx, raw.uuid)
    with pytest.raises(api.BundleError, match="max_depth"):
        api.lineage(ctx, left.uuid, max_depth=-1)


def test_roots_and_intermediates(ctx):
    _diamond(ctx)
    assert sorted(b.name for b in api.search(ctx, find_intermediates=True)) == ["joined", "left", "raw", "right"]
    assert sorted(b.name for b in api.search(ctx, find_roots=True)) == ["alone", "report"]
    with pytest.raises(api.BundleError, match="exclude each other"):
        api.search(ctx, find_roots=True, find_intermediates=True)


def test_rm_latest_all_and_old_only(ctx):
    for index in range(4):
        Bundle(ctx, name="r", data=index)
    removed = api.rm(ctx, "r")
    assert [b.data for b in api.search(ctx, "r")] == [2, 1, 0] and len(removed) == 1
    api.rm(ctx, "r", rm_old_only=True)
    assert [b.data for b in api.search(ctx, "r")] == [2]
    Bundle(ctx, name="r", data=9)
    api.rm(ctx, "r", rm_all=True)
    assert api.search(ctx, "r") == []
    assert api.rm(ctx, "r") == []
    with pytest.raises(api.BundleError, match="needs a bundle_name, a uuid or tags"):
        api.rm(ctx)
    with pytest.raises(api.BundleError, match="exclude each other"):
        api.rm(ctx, "r", rm_all=True, rm_old_only=True)


def test_rm_by_tags_and_uuid_and_committed_needs_force(ctx):
    keep = Bundle(ctx, name="k", data=1, tags={"run": "a"})
    gone = Bundle(ctx, name="k", data=2, tags={"run": "b"})
    api.rm(ctx, tags={"run": "b"}, rm_all=True)
    assert [b.uuid for b in api.search(ctx, "k")] == [keep.uuid]
    api.commit(ctx, "k")
    with pytest.raises(api.BundleError, match="committed.*force=True"):
        api.rm(ctx, uuid=keep.uuid)
    api.rm(ctx, "ignored name", uuid=keep.uuid, force=True)
    assert api.search(ctx) == [] and gone.closed


def test_rm_deletes_blobs_no_bundle_references(ctx, store, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 100_000)
    first = Bundle(ctx, name="f1", data=big)
    second = Bundle(ctx, name="f2", data=big)
    blob = store.blobs.path(first.files[0].hash)
    assert first.files[0].hash == second.files[0].hash and store.storage.isfile(blob)
    api.rm(ctx, "f1")
    assert store.storage.isfile(blob) and api.cat(ctx, "f2").read_bytes() == b"x" * 100_000
    api.rm(ctx, "f2")
    assert not store.storage.isfile(blob)
    assert store.index.database.read(lambda c: c.execute("SELECT count(*) FROM blobs").fetchone()[0]) == 0
    # The manifests' segment goes when this process stops writing to it (at exit), with the removal markers.
    store.segments.close()
    assert not store.storage.exists(first.files[0].path) and store.storage.find("bundles/contexts/test") == [
        "bundles/contexts/test/context.json"
    ]


def test_add_makes_bundles_of_files_and_folders(ctx, tmp_path):
    single = tmp_path / "one.txt"
    single.write_text("1")
    folder = tmp_path / "tree"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (folder / "a" / "same.txt").write_text("a")
    (folder / "b" / "same.txt").write_text("b")
    one = api.add(ctx, "single", str(single), tags={"src": "local"})
    assert one.tags == {"src": "local"} and api.cat(ctx, "single").read_text() == "1"
    tree = api.add(ctx, "tree", folder)
    files = api.cat(ctx, "tree")
    assert [p.read_text() for p in files] == ["a", "b"]
    assert [p.relative_to(files[0].parents[2]).as_posix() for p in files] == ["tree/a/same.txt", "tree/b/same.txt"]
    assert tree.params == {"path": [str(folder)]} and tree.code_ref == "tether.bundles.add"
    with pytest.raises(api.BundleError, match="no such file"):
        api.add(ctx, "nothing", tmp_path / "missing")
    assert isinstance(files[0], Path)


def test_rebuild_restores_bundles_contexts_and_commits(ctx, store, project):
    _diamond(ctx)
    api.commit(ctx, "raw")
    api.context("empty")
    before = {(b.uuid, b.name, b.committed, tuple(sorted(b.dependencies.items()))) for b in api.search(ctx)}
    store.index.database.write(lambda c: [c.execute(f"DELETE FROM {t}") for t in ("bundles", "contexts")])
    assert api.ls_contexts() == []
    report = api.rebuild()
    assert (report.contexts, report.bundles, report.skipped) == (2, 6, [])
    after = {(b.uuid, b.name, b.committed, tuple(sorted(b.dependencies.items()))) for b in api.search(ctx)}
    assert after == before and [c.name for c in api.ls_contexts()] == ["empty", "test"]
    assert [r.name for r in api.lineage(ctx, api.get(ctx, "report").uuid)][-1] == "raw"
    assert api.cat(ctx, "joined") == 3


def test_latest_keeps_the_newest_of_each_name(ctx):
    for index in range(3):
        Bundle(ctx, name="a", data=index, tags={"k": "v"})
        Bundle(ctx, name="b", data=10 + index, tags={"k": "v"})
    Bundle(ctx, name="c", data=20, tags={"k": "other"})
    assert [(b.name, b.data) for b in api.search(ctx, latest=True)] == [("c", 20), ("b", 12), ("a", 2)]
    assert [(b.name, b.data) for b in api.search(ctx, search_tags={"k": "v"}, latest=True)] == [("b", 12), ("a", 2)]
    assert [b.presentation for b in api.search(ctx, "a*", latest=True)] == ["int"]


def test_find_by_hash_tells_which_bundles_hold_a_file(ctx, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2,3")
    first = Bundle(ctx, name="one", data=path)
    api.context("other")
    second = Bundle("other", name="two", data={"x": path})
    digest = api.digest_file(path)[0]
    assert [b.uuid for b in api.find_by_hash(digest)] == [second.uuid, first.uuid]
    assert [b.uuid for b in api.find_by_hash(digest, ctx)] == [first.uuid]
    assert api.find_by_hash("0" * 32) == []
