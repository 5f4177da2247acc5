"""Backends that record a run's metrics, parameters and artifacts."""

from __future__ import annotations

import json
import logging
import time
from numbers import Number
from typing import Any

from tether.conf import default_context
from tether.exceptions import TetherError
from tether.files.storages import BaseStorage, default_storage

METRICS_FILE = "metrics.json"
logger = logging.getLogger("tether.ops")


class BaseOpsBackend:
    """Records metrics of the run in progress. Subclasses implement the `log_*` methods."""

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record `value` of metric `key` (at `step`, for curves)."""
        raise NotImplementedError

    def log_param(self, key: str, value: Any) -> None:
        """Record a parameter of the run."""
        raise NotImplementedError

    def log_artifact(self, path: str) -> None:
        """Record that the run produced the file at `path` (relative to the run folder)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Write out anything buffered; the runner calls this after every task."""

    def export_pending(self) -> Any:
        """Take what is buffered and not yet written, as picklable data (None if nothing).

        A task run by a worker process hands this back to the process that owns
        the run, which writes it with `import_pending`, so that workers never
        write the run's files at the same time.
        """
        return None

    def import_pending(self, pending: Any) -> None:
        """Buffer what `export_pending` took in another process; `flush` writes it."""


class LoggingOpsBackend(BaseOpsBackend):
    """Writes metrics and parameters to the `tether.ops` logger only."""

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        logger.info("metric %s=%s%s", key, value, "" if step is None else f" (step {step})")

    def log_param(self, key: str, value: Any) -> None:
        logger.info("param %s=%r", key, value)

    def log_artifact(self, path: str) -> None:
        logger.info("artifact %s", path)


class RunFolderBackend(BaseOpsBackend):
    """Keeps metrics, parameters and artifacts in `<run_folder>/metrics.json`.

    Values are buffered and written (atomically, merged with what the file already
    holds, so retries add to it) when the runner flushes after each task.
    """

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}

    def _bucket(self) -> dict[str, Any]:
        folder = default_context.meta.run_folder
        return self._pending.setdefault(folder, {"metrics": {}, "params": {}, "artifacts": []})

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        if not isinstance(value, Number) or isinstance(value, bool):
            raise TetherError(f"log_metric({key!r}, {value!r}): a metric is a number; log text with log_param")
        entry = {"value": float(value), "step": step, "timestamp": time.time()}
        self._bucket()["metrics"].setdefault(str(key), []).append(entry)

    def log_param(self, key: str, value: Any) -> None:
        try:
            json.dumps(value)
        except TypeError:
            value = repr(value)
        self._bucket()["params"][str(key)] = value

    def log_artifact(self, path: str) -> None:
        self._bucket()["artifacts"].append(str(path))

    def export_pending(self) -> Any:
        pending, self._pending = self._pending, {}
        return pending or None

    def import_pending(self, pending: Any) -> None:
        for folder, bucket in (pending or {}).items():
            mine = self._pending.setdefault(folder, {"metrics": {}, "params": {}, "artifacts": []})
            for key, values in bucket["metrics"].items():
                mine["metrics"].setdefault(key, []).extend(values)
            mine["params"].update(bucket["params"])
            mine["artifacts"].extend(bucket["artifacts"])

    def flush(self) -> None:
        while self._pending:
            folder, bucket = self._pending.popitem()
            path = f"{folder}/{METRICS_FILE}"
            stored = read_metrics(path)
            for key, values in bucket["metrics"].items():
                stored["metrics"].setdefault(key, []).extend(values)
            stored["params"].update(bucket["params"])
            stored["artifacts"].extend(a for a in bucket["artifacts"] if a not in stored["artifacts"])
            default_storage.touch(path, json.dumps(stored, indent=2, default=str))


def read_metrics(path: str, storage: BaseStorage | None = None) -> dict[str, Any]:
    """The contents of a `metrics.json` in `storage` (default_storage if None), with
    empty sections if it does not exist."""
    storage = storage if storage is not None else default_storage
    data: dict[str, Any] = {}
    if storage.isfile(path):
        data = json.loads(storage.read(path))
    for section, empty in (("metrics", {}), ("params", {}), ("artifacts", [])):
        data.setdefault(section, empty)
    return data
