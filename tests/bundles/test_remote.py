"""Remotes: two projects with their own catalogs share bundles through a folder or an S3 bucket (moto)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.remote_index import RemoteIndex
from tether.bundles.remote_io import open_remote
from tether.bundles.store import current_store
from tether.conf import settings

from .conftest import project_switcher

Project = Callable[[str], contextlib.AbstractContextManager[Path]]


@pytest.fixture(params=["folder", "s3"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A remote: a local folder, or a fresh bucket on the session's moto S3 server."""
    if request.param == "folder":
        yield str(tmp_path / "remote")
        return
    server = request.getfixturevalue("s3_server")
    with settings.override(**server.settings()):
        yield f"s3://{server.create_bucket()}/team"


@pytest.fixture
def project(tmp_path: Path, remote_url: str) -> Project:
    """`with project("a"):` makes project `a` (its own folder, catalog and storage) the active one."""

    return project_switcher(tmp_path)


def _frame(seed: int = 0, rows: int = 5000) -> pd.DataFrame:
    # 5,000 x 4 floats: larger than the 32 KiB kept inline, so it travels as a blob.
    return pd.DataFrame(np.random.default_rng(seed).random((rows, 4)), columns=list("abcd"))


def _bind(context: str, remote_url: str, remote_context: str = "shared") -> None:
    api.context(context)
    api.remote(context, remote_context, remote_url)


def test_a_pushed_bundle_is_pulled_by_another_project_with_uuid_data_and_lineage(project, remote_url, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with project("a"):
        _bind("work", remote_url)
        raw = Bundle("work", name="raw", data=_frame(), tags={"source": "lab"}, params={"n": 5000}).commit()
        with Bundle("work", name="model", tags={"stage": "fit"}) as model:
            model.add_data({"coef": [1.5, 2.5], "notes": Path(model.copy_in_file(notes))})
            model.add_dependencies(raw, "training")
            model.add_code_ref("pkg.fit")
        model.commit()
        report = api.push("work")
        assert sorted(report.pushed) == sorted([raw.uuid, model.uuid]) and report.blobs == 2
    with project("b"):
        _bind("mirror", remote_url)
        pulled = api.pull("mirror")
        assert {entry.uuid for entry in pulled.pulled} == {raw.uuid, model.uuid}
        got = api.get("mirror", "model")
        assert got.uuid == model.uuid and got.committed and got.tags == {"stage": "fit"}
        assert got.creation_date == model.creation_date and got.code_ref == "pkg.fit"
        assert got.dependencies == {"training": raw.uuid}
        assert [(r.name, r.depth, r.uuid) for r in api.lineage("mirror", model.uuid)] == [
            ("model", 0, model.uuid), ("raw", 1, raw.uuid)
        ]
        again = api.get("mirror", "raw")
        assert again.params == {"n": 5000} and again.tags == {"source": "lab"}
        pd.testing.assert_frame_equal(again.data, _frame())
        data = api.cat("mirror", "model")
        assert data["coef"] == [1.5, 2.5] and data["notes"].read_text() == "hello"


def test_pull_is_metadata_only_until_the_data_is_read(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        bundle = Bundle("work", name="big", data=_frame(1)).commit()
        api.push("work", "big")
    with project("b"):
        _bind("mirror", remote_url)
        report = api.pull("mirror", "big")
        assert [entry.uuid for entry in report.pulled] == [bundle.uuid] and report.blobs == 0
        pulled = api.get("mirror", "big")
        assert pulled.files == [] and pulled.presentation == "DataFrame"
        pd.testing.assert_frame_equal(pulled.data, _frame(1))  # fetched, verified, kept
        assert [f.hash for f in api.get("mirror", "big").files] == [f.hash for f in bundle.files]
        # A rebuilt catalog agrees: the files are local now.
        api.rebuild()
        assert [f.hash for f in api.get("mirror", "big").files] == [f.hash for f in bundle.files]


@pytest.mark.parametrize("pulled_before", [False, True], ids=["new", "pulled before without files"])
def test_pull_with_localize_fetches_the_files_at_once(project, remote_url, pulled_before):
    with project("a"):
        _bind("work", remote_url)
        bundle = Bundle("work", name="big", data=_frame(2)).commit()
        api.push("work")
    with project("b"):
        _bind("mirror", remote_url)
        if pulled_before:
            assert len(api.pull("mirror").pulled) == 1  # metadata only
            assert not current_store().blobs.exists(bundle.files[0].hash)
        report = api.pull("mirror", uuid=bundle.uuid[:8], localize=True)
        assert (report.pulled == []) == pulled_before and report.present == int(pulled_before)
        assert report.blobs == 1 and report.bytes == bundle.files[0].size
        assert api.get("mirror", "big").files == bundle.files
        assert current_store().blobs.exists(bundle.files[0].hash)


def test_pushing_an_uncommitted_bundle_says_how_to_commit(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        Bundle("work", name="draft", data=1)
        with pytest.raises(api.BundleError, match=r"not committed.*`tether commit draft`.*commit=True"):
            api.push("work", "draft")
        # push of everything sends the committed bundles only
        assert api.push("work").pushed == []
        report = api.push("work", "draft", commit=True)
        assert len(report.pushed) == 1 and api.get("work", "draft").committed


def test_a_second_push_sends_nothing_and_shared_blobs_are_sent_once(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        Bundle("work", name="one", data=_frame(3)).commit()
        Bundle("work", name="two", data=_frame(3)).commit()
        first = api.push("work")
        assert len(first.pushed) == 2 and first.blobs == 1
        again = api.push("work")
        assert again.pushed == [] and again.present == 2 and again.blobs == 0
        Bundle("work", name="three", data=_frame(3)).commit()
        third = api.push("work")
        assert len(third.pushed) == 1 and third.blobs == 0


def test_rmr_removes_from_the_remote_only_and_keeps_blobs_still_held(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        keep = Bundle("work", name="keep", data=_frame(4)).commit()
        twin = Bundle("work", name="twin", data=_frame(4)).commit()
        alone = Bundle("work", name="alone", data=_frame(5)).commit()
        api.push("work")
        assert api.rmr("work", "twin") == [twin.uuid]
        assert api.rmr("work", "alone") == [alone.uuid]
        assert api.get("work", "twin") is not None  # still here
        io = open_remote(api.ls_contexts()[0].remote.split("@", 1)[1])
        index = RemoteIndex.load(io, "shared")
        assert set(index.live()) == {keep.uuid}
        blobs = {key.rsplit("/", 2)[-2] + key.rsplit("/", 1)[-1] for key in io.list("blobs")}
        assert blobs == {keep.files[0].hash}
        with pytest.raises(api.BundleNotFoundError, match="no bundle 'twin' in remote context 'shared'"):
            api.rmr("work", "twin")
    with project("b"):
        _bind("mirror", remote_url)
        assert [entry.name for entry in api.pull("mirror").pulled] == ["keep"]
        pd.testing.assert_frame_equal(api.cat("mirror", "keep"), _frame(4))


def test_deleting_a_remote_context_keeps_what_other_contexts_hold(project, remote_url):
    with project("a"):
        _bind("work", remote_url, "team-a")
        Bundle("work", name="common", data=_frame(6)).commit()
        only_a = Bundle("work", name="only-a", data=_frame(7)).commit()
        api.push("work")
    with project("c"):
        _bind("other", remote_url, "team-c")
        kept = Bundle("other", name="common", data=_frame(6)).commit()
        api.push("other")
    with project("a"):
        with pytest.raises(api.BundleError, match="force=True"):
            api.delete_context("work", remote=True)
        api.delete_context("work", remote=True, force=True)
        assert api.ls_contexts() == []
    with project("c"):
        io = open_remote(api.ls_contexts()[0].remote.split("@", 1)[1])
        assert RemoteIndex.load(io, "team-a").live() == {}
        hashes = {key.rsplit("/", 2)[-2] + key.rsplit("/", 1)[-1] for key in io.list("blobs")}
        assert kept.files[0].hash in hashes and only_a.files[0].hash not in hashes
    with project("d"):
        _bind("late", remote_url, "team-c")
        api.pull("late")
        pd.testing.assert_frame_equal(api.cat("late", "common"), _frame(6))


def test_binding_rules(project, remote_url, tmp_path):
    with project("a"):
        with pytest.raises(api.BundleError, match="has no remote; bind one"):
            Bundle(None, name="x", data=1).commit().push()
        _bind("work", remote_url)
        assert dict(api.ls_contexts())["work"] == f"shared@{remote_url}"
        api.remote("work", "shared", remote_url)  # the same binding again is fine
        with pytest.raises(api.BundleError, match="pass force=True"):
            api.remote("work", "elsewhere", remote_url)
        api.remote("work", "elsewhere", remote_url, force=True)
        assert dict(api.ls_contexts())["work"].startswith("elsewhere@")
        with pytest.raises(api.BundleError, match="cannot name a remote context"):
            api.remote("work", "bad name", remote_url, force=True)
        with pytest.raises(api.ContextNotFoundError):
            api.remote("missing", "shared", remote_url)
        with pytest.raises(api.BundleNotFoundError, match="no bundle named 'nothing'"):
            api.pull("work", "nothing")
        # The binding survives a rebuild of the catalog from storage.
        api.rebuild()
        assert dict(api.ls_contexts())["work"].startswith("elsewhere@")


def test_per_file_delocalize_and_localize(project, remote_url, tmp_path):
    folder = tmp_path / "reports"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "one.txt").write_text("one")
    (folder / "b.txt").write_text("two")
    with project("a"):
        _bind("work", remote_url)
        bundle = api.add("work", "reports", folder).commit()
        with pytest.raises(api.BundleError, match="push it before delocalizing"):
            bundle.delocalize()
        bundle.push(delocalize=False)
        store = current_store()
        one = next(f for f in bundle.files if f.path.endswith("one.txt"))
        bundle.delocalize(["reports/a/one.txt"])
        assert not store.blobs.exists(one.hash)
        assert [f.path for f in api.get("work", "reports").files] == ["reports/b.txt"]
        with pytest.raises(api.BundleError, match="has no file 'nope'"):
            bundle.localize(["nope"])
        paths = api.cat("work", "reports")  # the delocalized file is fetched back on read
        assert sorted(p.read_text() for p in paths) == ["one", "two"]
        assert store.blobs.exists(one.hash) and len(api.get("work", "reports").files) == 2
        api.get("work", "reports").delocalize()
        assert api.get("work", "reports").files == []
        api.get("work", "reports").pull(localize=True)
        assert len(api.get("work", "reports").files) == 2


def test_push_with_delocalize_frees_the_local_files(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        bundle = Bundle("work", name="big", data=_frame(10)).commit()
        assert bundle.remote_dir == f"{remote_url}/contexts/shared"
        api.push("work", "big", delocalize=True)
        assert api.get("work", "big").files == [] and not current_store().blobs.exists(bundle.files[0].hash)
        pd.testing.assert_frame_equal(api.cat("work", "big"), _frame(10))
        assert current_store().blobs.exists(bundle.files[0].hash)


def test_a_pulled_bundle_in_another_local_context_is_not_duplicated(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        bundle = Bundle("work", name="x", data=_frame(8)).commit()
        api.push("work")
        _bind("second", remote_url)
        with pytest.raises(api.BundleError, match="already in data context 'work'"):
            api.pull("second", "x")
        assert api.pull("second").pulled == []
        assert api.get("second", "x") is None and api.get("work", uuid=bundle.uuid) is not None


def test_blobs_another_remote_context_sent_are_not_sent_again(project, remote_url):
    frames = [_frame(100 + i, rows=1500) for i in range(55)]
    with project("a"):
        _bind("work", remote_url, "team-a")
        for i, frame in enumerate(frames):
            Bundle("work", name=f"f{i}", data=frame).commit()
        assert api.push("work").blobs == 55
    with project("c"):
        _bind("other", remote_url, "team-c")
        for i, frame in enumerate(frames):
            Bundle("other", name=f"g{i}", data=frame).commit()
        Bundle("other", name="new", data=_frame(99, rows=1500)).commit()
        sent: list[str] = []
        if remote_url.startswith("s3://"):
            io = open_remote(remote_url)
            client = io.storage._sync(io.storage.fs.set_session)
            client.meta.events.register(
                "before-send.s3", lambda request, **kw: sent.append(f"{request.method} {request.url}")
            )
        report = api.push("other")  # 56 blobs to look for: on S3 one listing instead of 56 HEADs
        assert len(report.pushed) == 56 and report.blobs == 1
        assert not [r for r in sent if r.startswith("HEAD")], sent
    with project("d"):
        _bind("late", remote_url, "team-c")
        api.pull("late", "g54", localize=True)
        pd.testing.assert_frame_equal(api.cat("late", "g54"), frames[54])


def test_a_metadata_pull_counts_content_already_here_as_local(project, remote_url):
    with project("a"):
        _bind("work", remote_url)
        bundle = Bundle("work", name="big", data=_frame(30)).commit()
        api.push("work")
    with project("b"):
        _bind("mirror", remote_url)
        mine = Bundle("mirror", name="same-content", data=_frame(30))
        api.pull("mirror", "big")
        assert api.get("mirror", "big").files == bundle.files
        api.rm("mirror", uuid=mine.uuid)  # the blob stays: the pulled bundle holds it now
        pd.testing.assert_frame_equal(api.cat("mirror", "big"), _frame(30))
