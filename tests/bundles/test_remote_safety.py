"""Remotes under stress: a killed push, corrupt data in the bucket, concurrent writers, request counts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.remote_transfer import push_entries
from tether.bundles.remote_index import PENDING_GRACE, RemoteIndex, blob_key, now_us
from tether.bundles.remote_io import open_remote
from tether.bundles.store import current_store
from tether.conf import settings

from .conftest import project_switcher


@pytest.fixture
def s3(s3_server) -> Iterator[str]:
    """A fresh bucket on the moto server, with settings that reach it; yields the remote URL."""
    with settings.override(**s3_server.settings()):
        yield f"s3://{s3_server.create_bucket()}/team"


@pytest.fixture
def project(tmp_path: Path):
    return project_switcher(tmp_path)


def _frame(seed: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).random((5000, 4)), columns=list("abcd"))


def _bind(context: str, url: str, remote_context: str = "shared") -> None:
    api.context(context)
    api.remote(context, remote_context, url)


KILLED_PUSH = """
    import os, sys
    from tether.conf import settings
    settings.configure(BASE_DIR=sys.argv[1], STORAGE_ROOT=os.path.join(sys.argv[1], "data"),
                       AWS_S3_ENDPOINT_URL=sys.argv[2], AWS_ACCESS_KEY_ID="testing",
                       AWS_SECRET_ACCESS_KEY="testing", AWS_S3_REGION_NAME="us-east-1")
    import tether.bundles as api
    from tether.bundles import remote_index

    def killed(self, changes):
        os._exit(9)  # as a kill would: after the blobs and the pack, before the index

    remote_index.RemoteIndex.publish = killed
    api.push("work")
"""


def test_a_push_killed_half_way_shows_nothing_and_a_second_push_completes_it(project, s3, s3_server, tmp_path):
    with project("a") as base:
        _bind("work", s3)
        bundles = [Bundle("work", name=f"b{i}", data=_frame(i)).commit() for i in range(3)]
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_PUSH))
    result = subprocess.run(
        [sys.executable, str(script), str(base), s3_server.url], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 9, result.stderr
    with project("b"):
        _bind("mirror", s3)
        assert api.pull("mirror").pulled == []  # blobs and a pack were sent, but nothing is visible
        io = open_remote(s3)
        assert len(io.list("blobs")) == 3
    with project("a"):
        report = api.push("work")
        assert sorted(report.pushed) == sorted(b.uuid for b in bundles) and report.blobs == 0
    with project("b"):
        assert len(api.pull("mirror").pulled) == 3
        pd.testing.assert_frame_equal(api.cat("mirror", "b2"), _frame(2))


def test_a_blob_corrupted_in_the_bucket_is_named_on_pull_and_nothing_is_recorded(project, s3):
    with project("a"):
        _bind("work", s3)
        bundle = Bundle("work", name="data", data=_frame(1)).commit()
        api.push("work")
        io = open_remote(s3)
        key = blob_key(bundle.files[0].hash)
        data = io.read_many([key])[0]
        io.write_many([(key, data[:-10] + b"0123456789")])
    with project("b"):
        _bind("mirror", s3)
        named = rf"bundle 'data' \({bundle.uuid}\): the file '.data/.*' is corrupt on the remote .*{key}"
        with pytest.raises(api.BundleCorruptError, match=named):
            api.pull("mirror", "data", localize=True)
        assert api.get("mirror", "data") is None
        api.pull("mirror", "data")  # metadata only: fine, the data is checked when read
        with pytest.raises(api.BundleCorruptError, match="is corrupt on the remote"):
            api.cat("mirror", "data")


def test_a_manifest_changed_in_the_bucket_is_refused(project, s3):
    with project("a"):
        _bind("work", s3)
        Bundle("work", name="small", data={"x": 1}).commit()
        api.push("work")
        io = open_remote(s3)
        pack = io.list("contexts/shared/packs")[0]
        io.write_many([(pack, io.read_many([pack])[0].replace(b'"x"', b'"y"'))])
    with project("b"):
        _bind("mirror", s3)
        with pytest.raises(api.BundleCorruptError, match="bundle 'small' .*its manifest changed on the remote"):
            api.pull("mirror")
        assert api.search("mirror") == []


def test_pulling_one_bundle_by_name_takes_three_requests_however_many_the_remote_holds(project, s3):
    with project("a"):
        _bind("work", s3)
        for batch in range(3):
            for i in range(20):
                Bundle("work", name=f"n{batch}-{i}", data={"i": i}).commit()
            api.push("work")
        Bundle("work", name="wanted", data=_frame(3)).commit()
        api.push("work")
    with project("b"):
        _bind("mirror", s3)
        io = open_remote(s3)
        client = io.storage._sync(io.storage.fs.set_session)
        sent: list[str] = []
        client.meta.events.register("before-send.s3", lambda request, **kw: sent.append(request.url))
        api.pull("mirror", "wanted")
        assert len(sent) <= 3, "\n".join(sent)
        sent.clear()
        pd.testing.assert_frame_equal(api.cat("mirror", "wanted"), _frame(3))
        assert len(sent) == 1, sent  # the one blob


def test_concurrent_pushers_and_a_concurrent_removal_lose_nothing(project, tmp_path):
    url = str(tmp_path / "remote")
    with project("a"):
        _bind("work", url)
        first = Bundle("work", name="first", data=1).commit()
        api.push("work")
        left = Bundle("work", name="left", data=2).commit()
        right = Bundle("work", name="right", data=3).commit()
        store, io = current_store(), open_remote(url)
        # Three writers read the same index, then each publishes its own change.
        for_left, for_right, for_rm = (RemoteIndex.load(io, "shared") for _ in range(3))
        push_entries(store, for_left, store.index.find("work", uuid=left.uuid))
        for_rm.publish({first.uuid: {"at": now_us(), "deleted": True}})
        push_entries(store, for_right, store.index.find("work", uuid=right.uuid))
        merged = RemoteIndex.load(io, "shared")
        assert set(merged.live()) == {left.uuid, right.uuid}
        assert len(merged.segments) == 3
        # The next writer folds the segments into one.
        Bundle("work", name="later", data=4).commit()
        api.push("work", "later")
        assert len(RemoteIndex.load(io, "shared").segments) == 1
    with project("b"):
        _bind("mirror", url)
        assert sorted(e.name for e in api.pull("mirror").pulled) == ["later", "left", "right"]


def test_a_missing_bucket_is_one_clear_error(project, s3_server):
    with settings.override(**s3_server.settings()), project("a"):
        api.context("work")
        with pytest.raises(api.BundleError, match="cannot reach the remote .*bucket 'no-such-bucket' does not exist"):
            api.remote("work", "shared", "s3://no-such-bucket/x")


def test_gcs_remote_through_the_emulator(project, gcs_server):
    bucket = gcs_server.create_bucket()
    with settings.override(**gcs_server.settings()):
        url = f"gs://{bucket}/team"
        with project("a"):
            _bind("work", url)
            bundle = Bundle("work", name="g", data=_frame(9)).commit()
            assert api.push("work").blobs == 1
        with project("b"):
            _bind("mirror", url)
            api.pull("mirror", "g", localize=True)
            assert api.get("mirror", "g").uuid == bundle.uuid
            pd.testing.assert_frame_equal(api.cat("mirror", "g"), _frame(9))



def test_a_removal_keeps_blobs_a_push_in_progress_names_and_collects_stale_leftovers(project, tmp_path):
    url = str(tmp_path / "remote")
    with project("a"):
        _bind("work", url)
        gone = Bundle("work", name="gone", data=_frame(20)).commit()
        also = Bundle("work", name="also", data=_frame(21)).commit()
        api.push("work")
        io = open_remote(url)
        digest, other = gone.files[0].hash, also.files[0].hash
        # A push into another remote context has announced it will reference `digest`.
        index = RemoteIndex.load(io, "elsewhere")
        intent = index.key("pending", f"{now_us():017d}-aaaaaaaaaaaa")
        io.write_many([(intent, json.dumps({"blobs": [digest]}).encode())])
        # A push killed an hour and more ago left an intent and a pack nothing names.
        stale = f"{now_us() - int(2 * PENDING_GRACE * 1e6):017d}-bbbbbbbbbbbb"
        io.write_many([(index.key("pending", stale), json.dumps({"blobs": [other]}).encode()),
                       (RemoteIndex(io, "shared").key("packs", stale), b"{}")])
        api.rmr("work", "gone")
        api.rmr("work", "also")
        keys = set(io.list(""))
        assert blob_key(digest) in keys  # named by a push in progress
        assert blob_key(other) not in keys  # only a stale intent named it
        assert RemoteIndex(io, "elsewhere").key("pending", stale) not in keys
        assert not [key for key in keys if key.startswith("contexts/shared/packs/")]
