"""Data managers and `data_manager`, the one that settings name in DATA_BACKEND."""

from __future__ import annotations

from tether.conf import settings
from tether.files.data.base import BaseDataManager
from tether.files.data.formats import FORMATS, Format
from tether.utils import LazyProxy, import_string

__all__ = ["data_manager", "get_data_manager", "BaseDataManager", "FORMATS", "Format"]


def get_data_manager(backend: str | type[BaseDataManager] | None = None) -> BaseDataManager:
    """Build a data manager: `backend` (a class or dotted path) or DATA_BACKEND.

    Raises:
        ImproperlyConfigured: the class cannot be imported (e.g. its library is
            not installed).
    """
    if backend is None:
        manager_class = import_string(settings.DATA_BACKEND, "DATA_BACKEND")
    elif isinstance(backend, str):
        manager_class = import_string(backend, "backend")
    else:
        manager_class = backend
    return manager_class()


data_manager: BaseDataManager = LazyProxy(  # type: ignore[assignment]
    get_data_manager, lambda: settings.generation
)
