"""Staging folders and the collection of a bundle's files under unique paths."""

from __future__ import annotations

import os

import pytest

from tether.bundles.errors import BundleDataError
from tether.bundles.files import FileCollector, Staging


def test_files_keep_their_names_and_collisions_go_under_numbered_folders(tmp_path):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.csv").write_text(folder)
    collector = FileCollector()
    nodes = [collector.local(str(tmp_path / folder / "x.csv")) for folder in ("a", "b", "c")]
    assert [node["path"] for node in nodes] == ["x.csv", "2/x.csv", "3/x.csv"]
    assert collector.local(str(tmp_path / "a" / "x.csv")) is nodes[0]
    assert [f.path for f in collector.files] == ["x.csv", "2/x.csv", "3/x.csv"]


def test_a_file_does_not_take_a_path_under_a_folder_already_claimed(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inner.txt").write_text("1")
    (tmp_path / "other.txt").write_text("2")
    collector = FileCollector()
    folder = collector.local(str(tmp_path / "d"))
    named = collector.local(str(tmp_path / "other.txt"), name="d/inner.txt")
    assert folder["path"] == "d" and folder["files"] == [["inner.txt", collector.files[0].hash, 1]]
    assert named["path"] == "2/d/inner.txt"
    with pytest.raises(BundleDataError, match="not a path inside a bundle"):
        collector.local(str(tmp_path / "other.txt"), name="../up")


def test_staged_files_keep_their_path_in_the_staging_folder(tmp_path):
    staging = Staging(tmp_path)
    assert not staging.created and staging.contains(str(tmp_path)) is None
    target = staging.target("out/result.csv")
    target.write_text("r")
    collector = FileCollector(staging)
    assert collector.local(str(target))["path"] == "out/result.csv"
    assert staging.contains(str(tmp_path / "elsewhere")) is None
    root = staging.path
    staging.remove()
    assert not os.path.exists(root) and not staging.created
