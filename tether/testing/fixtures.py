"""pytest fixtures for tether projects: `pytest_plugins = ["tether.testing.fixtures"]`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.conf import settings


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
