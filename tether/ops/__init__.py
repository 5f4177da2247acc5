"""Metrics and parameters of a run: `default_mlops.log_metric(...)`, chosen by MLOPS_BACKEND."""

from __future__ import annotations

from tether.conf import settings
from tether.ops.backend import BaseOpsBackend, RunFolderBackend
from tether.utils import LazyProxy, import_string

__all__ = ["default_mlops", "BaseOpsBackend", "RunFolderBackend"]


def _make_backend() -> BaseOpsBackend:
    return import_string(settings.MLOPS_BACKEND, "MLOPS_BACKEND")()


default_mlops: BaseOpsBackend = LazyProxy(_make_backend, lambda: settings.generation)  # type: ignore[assignment]
