"""S3Storage against moto's S3 server on 127.0.0.1: the conformance suite, settings, S3 specifics."""

from __future__ import annotations

import sys

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages import S3_BACKEND, StoragePermissionError, get_storage
from tether.files.storages.s3 import S3Storage
from tether.testing import override_settings
from tether.testing.storage import StorageConformance


class TestS3Storage(StorageConformance):
    supports_empty_dirs = False

    @pytest.fixture
    def make_storage(self, s3_server, s3_bucket):
        options = s3_server.storage_options()
        return lambda prefix: S3Storage(f"s3://{s3_bucket}/{prefix}", **options)


def uploads_in_progress(storage: S3Storage) -> list:
    return storage.fs.call_s3("list_multipart_uploads", Bucket=storage.bucket).get("Uploads", [])


def test_a_root_in_the_bucket_setting(s3_server, s3_bucket) -> None:
    with override_settings(STORAGE_BACKEND=S3_BACKEND, STORAGE_ROOT="data/", **s3_server.settings(s3_bucket)):
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        assert storage.root == f"s3://{s3_bucket}/data"
        storage.touch("runs/x.txt", "x")
    whole = S3Storage(f"s3://{s3_bucket}", **s3_server.storage_options())
    assert whole.find() == ["data/runs/x.txt"]


def test_a_url_root_takes_endpoint_and_credentials_from_settings(s3_server, s3_bucket) -> None:
    with override_settings(STORAGE_ROOT=f"s3://{s3_bucket}/p", **s3_server.settings()):
        storage = get_storage()
        assert isinstance(storage, S3Storage) and storage.endpoint == s3_server.url
        storage.touch("a", b"1")
        assert storage.read("a") == b"1"


def test_without_settings_boto_reads_the_environment(s3_server, s3_bucket, monkeypatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    storage = S3Storage(f"s3a://{s3_bucket}/env")
    assert storage.root == f"s3://{s3_bucket}/env" and storage.endpoint == s3_server.url
    storage.touch("f", b"env")
    assert storage.read("f") == b"env"


def test_storage_options_win_over_settings(s3_server, s3_bucket) -> None:
    with override_settings(
        STORAGE_ROOT=f"s3://{s3_bucket}",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9",
        STORAGE_OPTIONS={"endpoint_url": s3_server.url, "config_kwargs": {"read_timeout": 7}},
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    ):
        storage = get_storage()
        assert storage.endpoint == s3_server.url
        assert storage.fs.config_kwargs["read_timeout"] == 7
        assert storage.fs.config_kwargs["connect_timeout"] == 5
        assert not storage.exists("x")


def test_a_failed_large_write_aborts_its_multipart_upload(s3_server, s3_bucket) -> None:
    storage = S3Storage(f"s3://{s3_bucket}", **s3_server.storage_options())
    with pytest.raises(KeyError):
        with storage.open("big.bin", "wb") as handle:
            handle.write(b"x" * (storage.block_size * 2 + 1))
            assert uploads_in_progress(storage), "parts are sent while writing"
            raise KeyError
    assert uploads_in_progress(storage) == []
    assert storage.find() == []


def test_copies_are_made_by_the_server(s3_server, s3_bucket, monkeypatch) -> None:
    storage = S3Storage(f"s3://{s3_bucket}", **s3_server.storage_options())
    storage.touch("src.bin", b"x" * 1000)
    monkeypatch.setattr(storage, "_open_read", lambda key: pytest.fail("cp read the object"))
    storage.cp("src.bin", "dest.bin")
    monkeypatch.undo()
    assert storage.read("dest.bin") == b"x" * 1000


def test_wrong_credentials(s3_server, s3_bucket) -> None:
    storage = S3Storage(f"s3://{s3_bucket}/p", **s3_server.storage_options())
    with s3_server.requiring_signatures():
        with pytest.raises(StoragePermissionError, match="access denied") as info:
            storage.touch("secret.txt", b"x")
    message = str(info.value)
    assert "AWS_ACCESS_KEY_ID" in message and "\n" not in message
    assert S3Storage(f"s3://{s3_bucket}", **s3_server.storage_options()).find() == []


def test_a_missing_s3fs_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.delitem(sys.modules, "tether.files.storages._s3fs", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"s3fs.*pip install 'tether\[s3\]'"):
        S3Storage("s3://bucket/prefix")
