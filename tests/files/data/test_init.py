"""`data_manager` follows DATA_BACKEND; `get_data_manager` builds any manager."""

from __future__ import annotations

import pytest

from tether.conf import settings
from tether.exceptions import ImproperlyConfigured
from tether.files.data import BaseDataManager, data_manager, get_data_manager
from tether.files.data.pandas import PandasDataManager


class EchoManager(BaseDataManager):
    pass


def test_data_manager_is_built_from_settings() -> None:
    with settings.override(STORAGE_ROOT="memory://"):
        assert isinstance(data_manager._resolve(), PandasDataManager)
        with settings.override(DATA_BACKEND="tether.files.data.nope.Nope"):
            with pytest.raises(ImproperlyConfigured, match="DATA_BACKEND"):
                data_manager.read("x.csv")
    assert isinstance(get_data_manager(EchoManager), EchoManager)
    assert isinstance(get_data_manager("tether.files.data.pandas.PandasDataManager"), PandasDataManager)


def test_data_backend_selects_polars() -> None:
    pytest.importorskip("polars")
    from tether.files.data.polars import PolarsDataManager

    with settings.override(STORAGE_ROOT="memory://"):
        with settings.override(DATA_BACKEND="tether.files.data.polars.PolarsDataManager"):
            assert isinstance(data_manager._resolve(), PolarsDataManager)
        assert isinstance(data_manager._resolve(), PandasDataManager)
