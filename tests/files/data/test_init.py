"""`data_manager` follows DATA_BACKEND; the base class resolves paths and refuses SQL for now."""

from __future__ import annotations

import pytest

from tether.conf import settings
from tether.exceptions import DataError, ImproperlyConfigured
from tether.files.data import BaseDataManager, data_manager, get_data_manager
from tether.files.data.pandas import PandasDataManager

from .conftest import RUN_FOLDER


class EchoManager(BaseDataManager):
    def read(self, path, root=False, **kwargs):
        return self.resolve(path, root)

    def write(self, path, df, root=False, **kwargs):
        self.storage.touch(self.resolve(path, root), df)


def test_data_manager_is_built_from_settings() -> None:
    with settings.override(STORAGE_ROOT="memory://"):
        assert isinstance(data_manager._resolve(), PandasDataManager)
        with settings.override(DATA_BACKEND="tether.files.data.nope.Nope"):
            with pytest.raises(ImproperlyConfigured, match="DATA_BACKEND"):
                data_manager.read("x.csv")
    assert isinstance(get_data_manager(EchoManager), EchoManager)
    assert isinstance(get_data_manager("tether.files.data.pandas.PandasDataManager"), PandasDataManager)


def test_resolve(run_context) -> None:
    manager = EchoManager()
    assert manager.read("a/b.csv") == f"{RUN_FOLDER}/a/b.csv"
    assert manager.read("/a/b.csv") == f"{RUN_FOLDER}/a/b.csv"
    assert manager.read("/a/b.csv", root=True) == "a/b.csv"


def test_writes_go_through_the_default_storage(run_context) -> None:
    with settings.override(STORAGE_ROOT="memory://"):
        EchoManager().write("note.txt", "hello")
        from tether.files.storages import default_storage

        assert default_storage.read(f"{RUN_FOLDER}/note.txt", "r") == "hello"


def test_read_sql_is_not_supported_by_default() -> None:
    with pytest.raises(DataError, match="not supported yet"):
        EchoManager().read_sql("select 1")
