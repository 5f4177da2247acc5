"""The catalog interface: the index of runs (and, with `tether.bundles`, of bundles).

The catalog is an index, not the record: every run's manifest stays in its run
folder, and `rebuild` re-creates the index from those manifests.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tether.catalog.records import Metric, RebuildReport, RunEntry, TaskEntry

if TYPE_CHECKING:
    from tether.catalog.bundle_index import BundleIndex
    from tether.catalog.bundle_rebuild import BundleRebuildReport
    from tether.files.storages import BaseStorage

__all__ = ["Catalog", "RunLike", "TaskLike"]

RunLike = RunEntry | Mapping[str, Any]
"""A run: a `RunEntry`, or the dictionary of its `run.json`."""

TaskLike = TaskEntry | Mapping[str, Any]
"""A task of a run: a `TaskEntry`, or its dictionary in `run.json`."""


class Catalog(abc.ABC):
    """Where tether records runs, their tasks, metrics and parameters.

    Every write is one transaction: a run and its tasks appear together or not
    at all, whichever process records them and whenever it dies. The catalog is
    safe to use from many processes at once, and from several threads.

    Attributes:
        url: the catalog's URL, as in `CATALOG_URL`.
    """

    url: str

    @property
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The catalog's schema version, after any pending migration was applied."""

    # --- runs --------------------------------------------------------------------------

    @abc.abstractmethod
    def record_run(
        self,
        run: RunLike,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> RunEntry:
        """Record a run and all its tasks (and, if given, metrics and params) in one transaction.

        Recording a run again updates it: the run's columns and record are
        replaced, its tasks are inserted or updated (tasks recorded earlier and
        absent from `run` are kept), and metrics already recorded are not added twice.

        Args:
            run: the run, or the dictionary of its `run.json`.
            metrics: values logged during the run.
            params: parameters of the run, JSON-able values.

        Returns:
            The entry that was recorded.

        Raises:
            CatalogError: the run is malformed or the catalog cannot be written.
        """

    def record_runs(self, runs: Iterable[RunLike]) -> int:
        """Record many runs with their tasks, in one transaction; returns how many.

        The bulk form of `record_run` (loading history, rebuilding).
        """
        count = 0
        for run in runs:
            self.record_run(run)
            count += 1
        return count

    @abc.abstractmethod
    def record_tasks(self, run_id: str, tasks: Iterable[TaskLike]) -> int:
        """Insert or update tasks of a recorded run, in one transaction; returns how many.

        Raises:
            RunNotFoundError: no run `run_id` is recorded.
        """

    @abc.abstractmethod
    def record_metrics(self, run_id: str, metrics: Iterable[Metric | Mapping[str, Any]]) -> int:
        """Add metric values of a recorded run; returns how many were new.

        A value already recorded (same key, step and timestamp) is not added again.

        Raises:
            RunNotFoundError: no run `run_id` is recorded.
        """

    @abc.abstractmethod
    def record_params(self, run_id: str, params: Mapping[str, Any]) -> int:
        """Set parameters of a recorded run (JSON-able values; others are stored as text).

        Raises:
            RunNotFoundError: no run `run_id` is recorded.
        """

    @abc.abstractmethod
    def get_run(self, ref: str) -> RunEntry:
        """The run named by `ref`, with its tasks and record.

        Args:
            ref: a run id, a unique prefix of one, or a run folder
                (`runs/YYYY/MM/DD/<run_id>`).

        Raises:
            RunNotFoundError: nothing matches.
            AmbiguousRunError: a prefix matches several runs.
        """

    @abc.abstractmethod
    def list_runs(
        self,
        *,
        dag: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int | None = 50,
        before: str | datetime | None = None,
    ) -> list[RunEntry]:
        """Runs, newest first (by start time; runs without one come last), without tasks and record.

        Args:
            dag: only runs of this DAG (exact match).
            status: only runs with this status.
            kind: only runs of this kind (`dag`, `experiment`).
            limit: at most this many; None for all.
            before: only runs started before this time (ISO 8601 text or a
                datetime); pass the `started_at` of the last run of a page to get
                the next page.
        """

    @abc.abstractmethod
    def count_runs(
        self, *, dag: str | None = None, status: str | None = None, kind: str | None = None
    ) -> int:
        """How many runs are recorded (with these filters, as in `list_runs`)."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> bool:
        """Forget the run `run_id` (exact id) with its tasks, metrics and params.

        The run folder in storage is untouched. Returns whether the run was recorded.
        """

    @abc.abstractmethod
    def get_metrics(self, run_id: str, key: str | None = None) -> list[Metric]:
        """The metric values of a run (of one metric with `key`), by key, step and time."""

    @abc.abstractmethod
    def get_params(self, run_id: str) -> dict[str, Any]:
        """The parameters of a run, by key."""

    # --- maintenance -------------------------------------------------------------------

    @abc.abstractmethod
    def rebuild(self, storage: BaseStorage) -> RebuildReport:
        """Re-create the index of DAG runs from the run folders in `storage`.

        Reads every `runs/YYYY/MM/DD/<run_id>/run.json` (and `metrics.json`) and
        replaces the recorded DAG runs with what it found, atomically: until the
        new index is complete the old one stays in force, and a crash half-way
        leaves the old one intact.

        Raises:
            CatalogError: the catalog cannot be written.
        """

    # --- bundles -------------------------------------------------------------------------

    @property
    def bundles(self) -> BundleIndex:
        """The index of data bundles (contexts, bundles, tags, files, lineage) that `tether.bundles` fills.

        Raises:
            CatalogError: this catalog does not index bundles.
        """
        from tether.catalog.errors import CatalogError

        raise CatalogError(
            f"{type(self).__name__} does not index data bundles; use an SQLite catalog"
            " (CATALOG_URL = 'sqlite:///...')"
        )

    def rebuild_bundles(self, storage: BaseStorage) -> BundleRebuildReport:
        """Re-create the index of data contexts and bundles from the manifests in `storage`.

        Reads every `bundles/contexts/<context>/bundles/<name>/<uuid>.json` (and
        the commit flags beside them) and replaces the recorded contexts and
        bundles with what it found, atomically. Runs are left as they are.

        Raises:
            CatalogError: the catalog cannot be written or does not index bundles.
        """
        from tether.catalog.bundle_rebuild import rebuild_bundles

        return rebuild_bundles(self, storage)  # type: ignore[arg-type]

    def close(self) -> None:
        """Release connections; the catalog reopens on next use."""

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
