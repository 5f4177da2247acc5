"""Factories for bundle tests: an isolated project with a data context, and DataFrames."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.bundles as api
from tether.bundles.store import BundleStore, current_store
from tether.catalog.bundle_records import BundleEntry, split_segment_ref
from tether.conf import settings


@pytest.fixture
def project(tether_settings: object, tmp_path: Path) -> Iterator[Path]:
    """An isolated project (BASE_DIR = tmp_path, local storage under data/); yields BASE_DIR."""
    yield tmp_path


Projects = Callable[[str], contextlib.AbstractContextManager[Path]]


def project_switcher(tmp_path: Path) -> Projects:
    """`with switch("a"):` makes project `a` (its own folder, catalog and storage) the active one."""

    @contextlib.contextmanager
    def activate(name: str) -> Iterator[Path]:
        base = tmp_path / name
        (base / "configs").mkdir(parents=True, exist_ok=True)
        with settings.override(
            BASE_DIR=str(base), STORAGE_BACKEND=None, STORAGE_ROOT=str(base / "data"),
            CONFIG_PATH=str(base / "configs"), INSTALLED_MODULES=[],
        ):
            yield base

    return activate


@pytest.fixture
def ctx(project: Path) -> str:
    """A fresh data context named `test`."""
    api.context("test")
    return "test"


@pytest.fixture
def store(project: Path):
    """The bundle store of the project's settings."""
    return current_store()


@pytest.fixture
def allow_pickle(project: Path) -> Iterator[None]:
    """Settings with ALLOW_PICKLE = True."""
    with settings.override(ALLOW_PICKLE=True):
        yield


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """`make_frame(rows=100, seed=0)` -> a rows x 3 float DataFrame with columns a, b, c."""

    def make(rows: int = 100, seed: int = 0) -> pd.DataFrame:
        return pd.DataFrame(np.random.default_rng(seed).random((rows, 3)), columns=list("abc"))

    return make


def rewrite_manifest(store: BundleStore, entry: BundleEntry, text: str) -> None:
    """Replace a bundle's manifest in storage: its file, or its segment line (`text` padded to its length)."""
    found = split_segment_ref(entry.manifest_path)
    if found is None:
        store.storage.touch(entry.manifest_path, text)
        return
    path, offset, length = found
    data = text.encode("utf-8")
    assert len(data) <= length and b"\n" not in data, "a segment line can only be replaced by one as long"
    with open(store.storage.local_path(path), "r+b") as handle:
        handle.seek(offset)
        handle.write(data.ljust(length))


def cut_manifest(store: BundleStore, entry: BundleEntry) -> None:
    """Lose a bundle's manifest: delete its file, or cut its segment where its line begins."""
    found = split_segment_ref(entry.manifest_path)
    if found is None:
        store.storage.rm(entry.manifest_path)
        return
    path, offset, _ = found
    with open(store.storage.local_path(path), "r+b") as handle:
        handle.truncate(offset)
