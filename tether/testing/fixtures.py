"""pytest fixtures for tether projects: `pytest_plugins = ["tether.testing.fixtures"]`.

Besides isolated settings and memory storage, the session fixtures `s3_server`
and `gcs_server` start a real S3 server (moto) and a GCS emulator on
127.0.0.1, once per test session, and stop them at its end; a test that asks
for one is skipped when its package is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.conf import settings
from tether.testing.servers import GCSServer, S3Server


@pytest.fixture
def tether_settings(tmp_path: Path) -> Iterator[object]:
    """Settings for an isolated project in a temporary folder, on local storage."""
    (tmp_path / "configs").mkdir()
    with settings.override(
        BASE_DIR=str(tmp_path),
        STORAGE_BACKEND=None,
        STORAGE_ROOT=str(tmp_path / "data"),
        CONFIG_PATH=str(tmp_path / "configs"),
        INSTALLED_MODULES=[],
    ) as active:
        yield active


@pytest.fixture
def memory_storage(tmp_path: Path) -> Iterator[object]:
    """Settings whose storage is a fresh in-memory store, for the length of one test."""
    with settings.override(
        BASE_DIR=str(tmp_path),
        STORAGE_BACKEND=None,
        STORAGE_ROOT=f"memory://tether-test-{uuid.uuid4().hex}",
    ):
        from tether.files.storages import default_storage

        yield default_storage


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, for the whole session; skipped without `moto[server]`."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        pytest.skip("moto[server] is not installed: pip install 'moto[server]'")
    with S3Server() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    """gcp-storage-emulator on 127.0.0.1, for the whole session; skipped without it.

    Sets `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false` for the session, without which
    gcsfs probes each new bucket over gRPC and waits a minute against an emulator.
    """
    if importlib.util.find_spec("gcp_storage_emulator") is None:
        pytest.skip("gcp-storage-emulator is not installed: pip install gcp-storage-emulator")
    previous = os.environ.get("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT")
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    try:
        with GCSServer() as server:
            yield server
    finally:
        if previous is None:
            os.environ.pop("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", None)
        else:
            os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = previous


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket on the session's S3 server."""
    return s3_server.create_bucket()


@pytest.fixture
def gcs_bucket(gcs_server: GCSServer) -> str:
    """A new, empty bucket on the session's GCS emulator."""
    return gcs_server.create_bucket()
