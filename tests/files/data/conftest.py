"""Fixtures for data manager tests: a storage from settings and an active run context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tether.conf import settings
from tether.conf.context import Context, activate, deactivate
from tether.files.storages import BaseStorage, default_storage

RUN_FOLDER = "runs/2024/01/01/r1"


@pytest.fixture
def run_context() -> Iterator[Context]:
    context = Context({"meta": {"run_id": "r1", "run_folder": RUN_FOLDER, "created_at": None}})
    token = activate(context)
    yield context
    deactivate(token)


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path, run_context) -> Iterator[BaseStorage]:
    root = str(tmp_path) if request.param == "local" else "memory://"
    with settings.override(STORAGE_ROOT=root):
        yield default_storage
