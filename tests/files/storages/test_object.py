"""What S3 and GCS storage share: roots, pickling, and clear, bounded failures."""

from __future__ import annotations

import pickle
import time
import uuid

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages import (
    StorageBucketNotFoundError,
    StorageConnectionError,
    StorageNotFoundError,
    StorageTimeoutError,
)
from tether.testing import override_settings
from tether.testing.servers import free_port

# Short limits, so that the failures below come within seconds.
QUICK = {"STORAGE_CONNECT_TIMEOUT": 0.5, "STORAGE_READ_TIMEOUT": 0.5, "STORAGE_MAX_ATTEMPTS": 2}


def test_a_missing_bucket_says_which_and_how_to_create_it(remote) -> None:
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    storage = remote.storage(missing, "data")
    for attempt in (lambda: storage.exists("x"), lambda: storage.touch("x", b"1"), storage.find):
        with pytest.raises(StorageBucketNotFoundError) as info:
            attempt()
        message = str(info.value)
        assert f"{missing!r} does not exist" in message and "create it" in message
        assert remote.cls.bucket_setting in message and "\n" not in message
        assert not isinstance(info.value, StorageNotFoundError)
    remote.server.create_bucket(missing)
    assert remote.storage(missing).find() == [], "the failed write left nothing"


def test_an_endpoint_that_refuses_connections(remote) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with override_settings(**QUICK):
        storage = remote.storage("bucket", "data", endpoint_url=endpoint)
        started = time.monotonic()
        with pytest.raises(StorageConnectionError) as info:
            storage.touch("model.pkl", b"weights")
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert f"cannot connect to {endpoint}" in message and remote.cls.endpoint_setting in message
    assert "\n" not in message
    assert info.value.__cause__ is not None


def test_an_endpoint_that_does_not_answer(remote, silent_endpoint) -> None:
    with override_settings(**QUICK):
        storage = remote.storage("bucket", "data", endpoint_url=silent_endpoint)
        started = time.monotonic()
        with pytest.raises(StorageTimeoutError) as info:
            storage.exists("anything")
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert f"{silent_endpoint} did not answer in time" in message and "2 attempts" in message
    assert "\n" not in message and isinstance(info.value, TimeoutError)


def test_roots(remote) -> None:
    bucket = remote.new_bucket()
    other = "gs" if remote.scheme == "s3" else "s3"
    with pytest.raises(ImproperlyConfigured, match=f"not a {remote.scheme}:// URL"):
        remote.cls(f"{other}://{bucket}/x")
    with pytest.raises(ImproperlyConfigured, match="names no bucket"):
        remote.cls(f"{remote.scheme}:///x")
    with pytest.raises(ImproperlyConfigured, match=f"needs a bucket: set {remote.cls.bucket_setting}"):
        remote.cls("data/")
    with pytest.raises(ImproperlyConfigured, match="is a local path"):
        remote.cls("/home/me/project/data")
    with pytest.raises(ImproperlyConfigured, match="escapes"):
        remote.cls(f"{remote.scheme}://{bucket}/../x")
    storage = remote.storage(bucket, "/a//b/")
    assert storage.root == f"{remote.scheme}://{bucket}/a/b"
    assert (storage.bucket, storage.prefix) == (bucket, "a/b")
    assert storage.abspath("c") == f"{remote.scheme}://{bucket}/a/b/c"
    assert storage.local_path("c") is None


def test_storages_travel_to_other_processes(remote) -> None:
    with override_settings(STORAGE_MAX_ATTEMPTS=4):
        storage = remote.storage(remote.new_bucket(), "p")
    storage.touch("f", b"1")
    copy = pickle.loads(pickle.dumps(storage))
    assert copy.read("f") == b"1" and copy.root == storage.root
    attempts = getattr(copy.fs, "attempts", None) or copy.fs.config_kwargs["retries"]["total_max_attempts"]
    assert attempts == 4
