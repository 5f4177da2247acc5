"""Data contexts: creation, the current context kept per project, listing and deletion."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tether.bundles as api
from tether.bundles import Bundle


def test_context_returns_0_when_created_and_1_when_it_existed(project):
    assert api.context("analysis") == 0
    assert api.context("analysis") == 1
    assert api.ls_contexts() == [api.ContextInfo("analysis", None)]
    name, remote = api.ls_contexts()[0]
    assert (name, remote) == ("analysis", None)


@pytest.mark.parametrize("bad", ["", "..", "a b", ".hidden", "x" * 101, "a\\b"])
def test_context_names_are_checked(project, bad):
    with pytest.raises(api.BundleError, match="cannot name a data context"):
        api.context(bad)


def test_a_remote_context_name_points_at_remote(project):
    with pytest.raises(api.BundleError, match=r"create 'local' and bind it.*remote\('local', 'remote', URL\)"):
        api.context("remote/local")


def test_current_context_is_default_until_switched_and_kept_across_processes(project):
    assert api.current_context() == api.DEFAULT_CONTEXT
    api.context("work")
    api.switch("work")
    assert api.current_context() == "work"
    Bundle(None, name="x", data=1)
    assert api.get(None, "x").context == "work"
    code = (
        "from tether.conf import settings; settings.configure(BASE_DIR=%r);"
        " import tether.bundles as api; print(api.current_context())" % str(project)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "work"
    with pytest.raises(api.ContextNotFoundError, match="no data context 'nope'"):
        api.switch("nope")
    api.switch(api.DEFAULT_CONTEXT)
    assert api.current_context() == api.DEFAULT_CONTEXT


def test_reading_the_default_context_before_any_write_is_empty(project):
    assert api.search(None) == [] and api.get(None, "x") is None
    with pytest.raises(api.ContextNotFoundError):
        api.search("missing")


def test_delete_context_removes_its_bundles_and_keeps_shared_blobs(project, store, tmp_path):
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"s" * 50_000)
    api.context("a")
    api.context("b")
    in_a = Bundle("a", name="x", data=shared)
    in_b = Bundle("b", name="y", data=shared)
    api.switch("a")
    api.delete_context("a")
    assert [c.name for c in api.ls_contexts()] == ["b"] and api.current_context() == api.DEFAULT_CONTEXT
    assert not store.storage.exists("bundles/contexts/a")
    assert api.cat("b", "y").read_bytes() == b"s" * 50_000
    assert in_a.files[0].hash == in_b.files[0].hash
    with pytest.raises(api.ContextNotFoundError, match="no data context 'a' to delete"):
        api.delete_context("a")


def test_delete_context_with_committed_bundles_needs_force(project):
    api.context("kept")
    Bundle("kept", name="x", data=1).commit()
    with pytest.raises(api.BundleError, match="committed bundles; pass force=True"):
        api.delete_context("kept")
    with pytest.raises(api.BundleError, match="has no remote"):
        api.delete_context("kept", remote=True, force=True)
    api.delete_context("kept", force=True)
    assert api.ls_contexts() == []
