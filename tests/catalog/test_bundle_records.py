"""Bundle entries, manifests and their paths in storage."""

from __future__ import annotations

import pytest

from tether.catalog import CatalogError
from tether.catalog.bundle_records import (
    MANIFEST_FORMAT,
    BundleEntry,
    FileEntry,
    blob_path,
    commit_marker_path,
    context_marker_path,
    manifest_path,
    parse_manifest_path,
    validate_context_name,
)

UUID = "12345678-1234-4678-9234-567812345678"


def test_manifest_paths_keep_names_readable_and_safe():
    assert manifest_path("ctx", "dag.task", UUID) == f"bundles/contexts/ctx/bundles/dag.task/{UUID}.json"
    assert manifest_path("ctx", "a/b c", UUID).split("/")[4] == "a%2Fb%20c"
    assert manifest_path("ctx", "..", UUID).split("/")[4] == "%2E."
    assert manifest_path("ctx", ".hidden", UUID).split("/")[4] == "%2Ehidden"
    long = manifest_path("ctx", "x" * 500, UUID).split("/")[4]
    assert len(long) <= 120 and "~" in long
    assert manifest_path("ctx", "x" * 500, UUID) != manifest_path("ctx", "x" * 499 + "y", UUID)
    assert parse_manifest_path(manifest_path("ctx", "a/b", UUID)) == ("ctx", UUID)
    assert parse_manifest_path("bundles/contexts/ctx/bundles/a/not-a-uuid.json") is None
    assert parse_manifest_path("bundles/contexts/ctx/context.json") is None
    assert commit_marker_path(manifest_path("c", "n", UUID)).endswith(f"/{UUID}.committed")
    assert context_marker_path("c") == "bundles/contexts/c/context.json"
    assert blob_path("ab" + "c" * 30) == "bundles/blobs/ab/" + "c" * 30


@pytest.mark.parametrize("name", ["", ".x", "a/b", "a b", "x" * 101, None, "é"])
def test_context_names_are_validated(name):
    with pytest.raises(CatalogError, match="cannot name a data context"):
        validate_context_name(name)


def test_entries_go_to_manifests_and_back():
    entry = BundleEntry(
        uuid=UUID, context="c", name="n", created_at="2024-01-01T00:00:00+00:00", processing_name="p",
        owner="ada", code_ref="m.f", git={"repo": "r", "commit": "c", "branch": "b"}, timing={"start": 1.0, "stop": 2.0},
        presentation="dict", tags={"k": "v"}, params={"lr": 0.1}, dependencies={"x": UUID},
        files=[FileEntry("a.csv", "h" * 32, 3)],
    )
    assert entry.created_at == "2024-01-01T00:00:00.000000+00:00"
    back = BundleEntry.from_manifest(entry.manifest_fields(), manifest_path="m.json", committed=True)
    assert back.manifest_fields() == entry.manifest_fields() and back.committed and back.manifest_path == "m.json"
    assert BundleEntry.from_row(entry.row()).git == entry.git


def test_unknown_manifests_are_refused():
    with pytest.raises(CatalogError, match="no uuid"):
        BundleEntry.from_manifest({"name": "x"})
    with pytest.raises(CatalogError, match="format 99 is unknown.*upgrade tether"):
        BundleEntry.from_manifest({"uuid": UUID, "created_at": "2024-01-01T00:00:00+00:00", "format": MANIFEST_FORMAT + 98})
