"""GoogleStorage against gcp-storage-emulator on 127.0.0.1: the conformance suite, settings, GCS specifics."""

from __future__ import annotations

import sys

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages import GOOGLE_BACKEND, get_storage
from tether.files.storages.google import GoogleStorage
from tether.testing import override_settings
from tether.testing.storage import StorageConformance


class TestGoogleStorage(StorageConformance):
    supports_empty_dirs = False

    @pytest.fixture
    def make_storage(self, gcs_server, gcs_bucket):
        options = gcs_server.storage_options()
        return lambda prefix: GoogleStorage(f"gs://{gcs_bucket}/{prefix}", **options)


def test_settings_as_in_a_production_settings_module(gcs_server, gcs_bucket) -> None:
    # The seed's prod.py: a backend by dotted path, a prefix, and the bucket setting.
    with override_settings(
        STORAGE_BACKEND=GOOGLE_BACKEND,
        STORAGE_ROOT="data/",
        GOOGLE_GCS_BUCKET=gcs_bucket,
        GOOGLE_GCS_ENDPOINT_URL=gcs_server.url,
    ):
        storage = get_storage()
        assert isinstance(storage, GoogleStorage)
        assert storage.root == f"gs://{gcs_bucket}/data"
        storage.touch("runs/x.txt", "x")
    whole = GoogleStorage(f"gs://{gcs_bucket}", **gcs_server.storage_options())
    assert whole.find() == ["data/runs/x.txt"]


def test_the_emulator_variable_is_enough(gcs_server, gcs_bucket, monkeypatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.url.removeprefix("http://"))
    storage = GoogleStorage(f"gcs://{gcs_bucket}/env")
    assert storage.root == f"gs://{gcs_bucket}/env" and storage.endpoint == gcs_server.url
    storage.touch("f", b"env")
    assert storage.read("f") == b"env"


def test_a_failed_large_write_publishes_nothing(gcs_server, gcs_bucket) -> None:
    storage = GoogleStorage(f"gs://{gcs_bucket}", **gcs_server.storage_options())
    with pytest.raises(KeyError):
        with storage.open("big.bin", "wb") as handle:
            handle.write(b"x" * (storage.block_size * 2 + 1))
            raise KeyError
    assert storage.find() == []


def test_copies_are_made_by_the_server(gcs_server, gcs_bucket, monkeypatch) -> None:
    storage = GoogleStorage(f"gs://{gcs_bucket}", **gcs_server.storage_options())
    storage.touch("src.bin", b"x" * 1000)
    monkeypatch.setattr(storage, "_open_read", lambda key: pytest.fail("cp read the object"))
    storage.cp("src.bin", "dest.bin")
    monkeypatch.undo()
    assert storage.read("dest.bin") == b"x" * 1000


def test_a_credentials_file_that_does_not_exist(gcs_server, tmp_path) -> None:
    missing = tmp_path / "key.json"
    with override_settings(GOOGLE_APPLICATION_CREDENTIALS=str(missing)):
        with pytest.raises(ImproperlyConfigured, match="GOOGLE_APPLICATION_CREDENTIALS.*no such file"):
            GoogleStorage("gs://bucket/x")


def test_a_credentials_file_that_is_not_a_key(gcs_server, tmp_path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text("not json")
    with override_settings(GOOGLE_APPLICATION_CREDENTIALS=str(bad)):
        with pytest.raises(ImproperlyConfigured, match="credentials") as info:
            GoogleStorage("gs://bucket/x")
    assert "\n" not in str(info.value)


def test_a_missing_gcsfs_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    monkeypatch.setitem(sys.modules, "gcsfs.core", None)
    monkeypatch.delitem(sys.modules, "tether.files.storages._gcsfs", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"gcsfs.*pip install 'tether\[gcs\]'"):
        GoogleStorage("gs://bucket/prefix")
