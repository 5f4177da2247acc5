"""`ArtifactManager`: the records, options, environment and registry entry of one experiment run."""

from __future__ import annotations

import os
import platform
import socket
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tether.experiments.cache_store import CacheStore
from tether.experiments.planning import Plan, PlanNode

if TYPE_CHECKING:
    from tether.experiments.record import ArtifactRepresentation, Record

__all__ = ["ArtifactManager", "ask_notes"]

TIMESTAMP_FORMAT = "%Y-%m-%d-T%H%M%S"

RUNS_FOLDER = "experiments"
"""The folder of `--store-full` run folders under STORAGE_ROOT."""


def _settings() -> Any:
    from tether.conf import settings

    return settings


def ask_notes() -> str | None:
    """The notes of a run given `notes=""`: typed on the terminal, or read from a piped stdin.

    When stdin is a terminal, a prompt goes to stderr and lines are read up to
    an empty line or the end of input (Ctrl-D); otherwise all of stdin is read,
    so `echo "msg" | tether experiment NAME --notes` works.

    Returns:
        The text without leading and trailing blank space, or None when nothing was given.
    """
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return None
    if stdin.isatty():
        print("Notes for this run (end with an empty line):", file=sys.stderr, flush=True)
        lines = []
        for line in iter(stdin.readline, ""):
            if not line.strip():
                break
            lines.append(line)
        text = "".join(lines)
    else:
        text = stdin.read()
    return text.strip() or None


def default_cache_path() -> str:
    """`EXPERIMENTS_CACHE_PATH`, else `cache/` under a local `STORAGE_ROOT`, else `BASE_DIR/.tether/cache`."""
    settings = _settings()
    if settings.EXPERIMENTS_CACHE_PATH:
        return os.path.abspath(os.path.expanduser(str(settings.EXPERIMENTS_CACHE_PATH)))
    root = _storage_local_root()
    if root is not None:
        return os.path.join(root, "cache")
    return os.path.join(str(settings.BASE_DIR or os.getcwd()), ".tether", "cache")


def _storage_local_root() -> str | None:
    from tether.files.storages import default_storage

    return default_storage.local_path("")


class ArtifactManager:
    """The records, metadata and options of one experiment run.

    Every experiment run has one; a notebook makes its own (status `LIVE`).
    Arguments and attributes keep Curifactory's names and meanings; the
    registry, run numbers and the stage cache index live in the catalog.

    Args:
        experiment_name: the experiment's name (and default cache prefix).
        store_full: write a self-contained run folder (`experiments/<ref>/` under STORAGE_ROOT;
            see `get_run_output_path`).
        dry: write nothing: no cache, no registry entry, no report, no log.
        dry_cache: write no cache files (reading a `--store-full` folder's cache).
        prefix: group cached artifacts under this name instead of the experiment's.
        run_line: the command line that started the run.
        parallel_lock: a multiprocessing lock for `lock()`/`unlock()`.
        parallel_mode: this manager runs parameter sets in a worker process.
        lazy: keep every output on disk until needed (PickleCacher where none is given).
        ignore_lazy: keep every output in memory, `Lazy` declarations included.
        notes: a git-log-like message stored with the run; an empty string asks for it
            (`ask_notes`: typed on the terminal, or read from a piped stdin); None means no notes.
        manager_cache_path: kept for compatibility; the registry is in the catalog.
        cache_path: where stage outputs are cached.
        runs_path: where `--store-full` run folders are written: by default `experiments/`
            under a local STORAGE_ROOT or, with a remote one, `BASE_DIR/.tether/experiments/`,
            from where each finished folder is uploaded to `experiments/` of the storage.
        logs_path: where run logs go.
        notebooks_path: where run notebooks go.
        reports_path: where reports go (default `REPORTS_PATH`).
        report_css_path: a CSS file copied into each report.
        status_override: `LIVE` unless an experiment script runs the manager.
        suppress_live_log: no console log for a live manager.
        live_log_debug: a live manager's console log at DEBUG level.
        disable_non_cf_loggers: quieten other libraries' loggers in the run log.
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        store_full: bool = False,
        dry: bool = False,
        dry_cache: bool = False,
        prefix: str | None = None,
        run_line: str = "",
        parallel_lock: Any = None,
        parallel_mode: bool = False,
        lazy: bool = False,
        ignore_lazy: bool = False,
        notes: str | None = None,
        manager_cache_path: str | None = None,
        cache_path: str | None = None,
        runs_path: str | None = None,
        logs_path: str | None = None,
        notebooks_path: str | None = None,
        reports_path: str | None = None,
        report_css_path: str | None = None,
        status_override: str = "LIVE",
        suppress_live_log: bool = False,
        live_log_debug: bool = False,
        disable_non_cf_loggers: bool = True,
    ) -> None:
        settings = _settings()
        base_dir = str(settings.BASE_DIR or os.getcwd())
        self.experiment_name = experiment_name or "experiment"
        self.store_full = store_full
        self.dry = dry
        self.dry_cache = dry_cache
        self.prefix = prefix
        self.run_line = run_line
        self.parallel_lock = parallel_lock
        self.parallel_mode = parallel_mode
        self.lazy = lazy
        self.ignore_lazy = ignore_lazy
        self.notes = ask_notes() if notes == "" and not parallel_mode else notes
        self.config: dict[str, Any] = {}
        self.manager_cache_path = manager_cache_path or os.path.join(base_dir, ".tether")
        self.cache_path = os.path.abspath(cache_path) if cache_path else default_cache_path()
        storage_root = _storage_local_root()
        # On a remote STORAGE_ROOT, --store-full folders are staged on this machine and uploaded.
        self._upload_runs = runs_path is None and storage_root is None
        self.runs_path = runs_path or self._default_runs_path(base_dir, storage_root)
        self.logs_path = logs_path or os.path.join(base_dir, "logs")
        self.notebooks_path = notebooks_path or os.path.join(base_dir, "notebooks")
        self.reports_path = reports_path or str(settings.REPORTS_PATH or os.path.join(base_dir, "reports"))
        self.report_css_path = report_css_path
        self.status = status_override
        self.interactive = status_override == "LIVE"
        self.suppress_live_log = suppress_live_log
        self.live_log_debug = live_log_debug
        self.disable_non_cf_loggers = disable_non_cf_loggers
        self.base_dir = base_dir

        self.run_timestamp = datetime.now()
        self._timestamp_text: tuple[datetime, str] | None = None
        self.records: list[Record] = []
        self.reportables: list[Any] = []
        self.artifacts: list[ArtifactRepresentation] = []
        self.mapped_artifacts: list[Any] = []
        self.current_stage_name: str | None = None
        self.stage_active = False
        self.map_mode = False
        self.overwrite = False
        self.overwrite_stages: list[str] = []
        self.parameter_files: list[str] = []
        self.param_file_param_sets: dict[str, list[list[str]]] = {}
        self.error: str | None = None
        self.error_thrown = False
        self.error_traceback: str | None = None
        self.stored = False
        self.live_report_path_generated = False
        self.explain = False
        self.parallel_done = False
        self.stage_files: list[str] = []
        self.calls: list[tuple[Record, str, str]] = []
        self.on_stage_done: Any = None
        self.plan: Plan | None = None
        self.plan_nodes: list[PlanNode] = []
        self.plan_labels: dict[int, str] = {}
        self.cache = CacheStore(self)
        self.hostname = socket.gethostname()
        self.os = f"{platform.system()} {platform.release()}".strip()
        git = {} if parallel_mode else _git(base_dir)
        self.git_commit_hash: str | None = git.get("commit")
        self.git_workdir_dirty: bool | None = git.get("dirty")
        self.git_branch: str | None = git.get("branch")
        self._pip_freeze: str | None = None
        self._conda_env: Any = _UNSET
        self.experiment_run_number = 0 if dry or parallel_mode else self._peek_run_number()
        self.reproduction_line = run_line
        self.run_info: dict[str, Any] = {}
        self._started = datetime.now(timezone.utc)
        if self.interactive and not suppress_live_log:
            _live_log(live_log_debug)

    # --- environment ---------------------------------------------------------------------

    def _default_runs_path(self, base_dir: str, storage_root: str | None) -> str:
        """`experiments/` under a local STORAGE_ROOT, else the staging folder `BASE_DIR/.tether/experiments/`."""
        parent = storage_root if storage_root is not None else os.path.join(base_dir, ".tether")
        return os.path.join(parent, RUNS_FOLDER)

    @property
    def pip_freeze(self) -> str:
        """Every installed package with its version (complete)."""
        if self._pip_freeze is None:
            from tether.experiments.environment import pip_freeze

            self._pip_freeze = pip_freeze()
        return self._pip_freeze

    @pip_freeze.setter
    def pip_freeze(self, value: str) -> None:
        self._pip_freeze = value

    @property
    def conda_env(self) -> str | None:
        """`conda env export --from-history`, or None outside conda."""
        if self._conda_env is _UNSET:
            from tether.experiments.environment import conda_export

            self._conda_env = conda_export()
        return self._conda_env

    @conda_env.setter
    def conda_env(self, value: str | None) -> None:
        self._conda_env = value

    def git_bundle_info(self) -> dict[str, Any] | None:
        """The git info bundles of this run record."""
        if not self.git_commit_hash:
            return None
        return {"repo": self.base_dir, "commit": self.git_commit_hash, "branch": self.git_branch or ""}

    # --- names and paths -----------------------------------------------------------------

    @property
    def cache_prefix(self) -> str:
        """The prefix of cached artifacts: `prefix`, else the experiment's name."""
        return self.prefix or self.experiment_name

    def get_str_timestamp(self) -> str:
        """The run's timestamp as text (`2024-01-31-T093000`)."""
        stamp = self.run_timestamp
        text = self._timestamp_text
        if text is None or text[0] is not stamp:  # every stage asks: format it once
            text = self._timestamp_text = (stamp, stamp.strftime(TIMESTAMP_FORMAT))
        return text[1]

    def get_reference_name(self) -> str:
        """The run's name in the registry: `[experiment]_[run_number]_[timestamp]`."""
        return f"{self.experiment_name}_{self.experiment_run_number}_{self.get_str_timestamp()}"

    def get_artifact_filename(
        self, obj_name: str, record: Record, prefix: str | None = None, stage_name: str | None = None
    ) -> str:
        """`[prefix]_[parameter set hash]_[stage]_[name]`, the file name of an artifact."""
        stage = stage_name or self.current_stage_name or ""
        return f"{prefix or self.cache_prefix}_{record.get_hash()}_{stage}_{obj_name}"

    def get_artifact_path(
        self,
        obj_name: str,
        record: Record,
        subdir: str | None = None,
        prefix: str | None = None,
        stage_name: str | None = None,
        store: bool = False,
    ) -> str:
        """The full path of an artifact: in the cache folder, or the run folder's `artifacts/` with `store`."""
        base = self.get_run_staging_path("artifacts") if store else self.cache_path
        if subdir:
            base = os.path.join(base, subdir)
        return os.path.join(base, self.get_artifact_filename(obj_name, record, prefix, stage_name))

    def get_run_output_path(self, obj_name: str | None = None) -> str:
        """Where the `--store-full` folder of this run is (`experiments/<ref>/` under STORAGE_ROOT), or a file in it.

        On a local STORAGE_ROOT (or with `runs_path` given) this is the folder the
        run writes, as in Curifactory. On a remote one it is the storage URL that
        the finished folder is uploaded to (`s3://bucket/root/experiments/<ref>`);
        files are written into `get_run_staging_path()`, which stays on this machine.
        """
        key = self.get_run_storage_path()
        if key is None:
            return self.get_run_staging_path(obj_name)
        from tether.files.storages import default_storage

        return default_storage.abspath(key if obj_name is None else f"{key}/{obj_name}")

    def get_run_staging_path(self, obj_name: str | None = None) -> str:
        """The local folder where this run's `--store-full` folder is written (`runs_path/<ref>`), or a file in it.

        The same as `get_run_output_path` on a local STORAGE_ROOT; on a remote one
        the folder is built here, uploaded when the run finishes, and kept.
        """
        folder = os.path.join(self.runs_path, self.get_reference_name())
        return folder if obj_name is None else os.path.join(folder, obj_name)

    def get_run_storage_path(self) -> str | None:
        """The storage path the finished `--store-full` folder is uploaded to (`experiments/<ref>`).

        None when the folder is written in place: on a local STORAGE_ROOT, or with `runs_path` given.
        """
        return f"{RUNS_FOLDER}/{self.get_reference_name()}" if self._upload_runs else None

    # --- records and reportables ---------------------------------------------------------

    def add_record(self, record: Record) -> None:
        """Adopt a record (records call this as they are made)."""
        record.index = len(self.records)
        self.records.append(record)

    def get_all_param_sets(self) -> list[Any]:
        """The parameter sets of every record (those not from parameter files included)."""
        seen: dict[int, Any] = {}
        for record in self.records:
            if record.args is not None:
                seen.setdefault(id(record.args), record.args)
        return list(seen.values())

    def get_grouped_reportables(self) -> dict[str, list[Any]]:
        """Reportables by group name (those with a group only)."""
        groups: dict[str, list[Any]] = {}
        for reportable in self.reportables:
            if getattr(reportable, "group", None):
                groups.setdefault(reportable.group, []).append(reportable)
        return groups

    def get_ungrouped_reportables(self) -> list[Any]:
        """Reportables without a group."""
        return [r for r in self.reportables if not getattr(r, "group", None)]

    def map_records(self) -> None:
        """Decide what each mapped stage call does, then drop the mapped records.

        Called after the experiment ran in map mode: the stage calls it
        recorded become the plan, and the records are cleared for the real run.
        """
        plan = Plan()
        for node in self.plan_nodes:
            plan.add(node)
        self.cache.prefetch([node.key for node in plan.nodes if node.check is not None])
        plan.decide()
        self.plan = plan
        self.plan_labels = {r.index: f"{r.name} [{r.get_hash()[:10]}]" for r in self.records}
        self.mapped_artifacts = [
            (node.record_index, node.stage, output) for node in plan.nodes for output in node.outputs
        ]
        self.records = []
        self.artifacts = []
        self.reportables = []
        self.map_mode = False

    def update_map_progress(self, record: Record, update_type: str = "") -> None:
        """Progress of mapped stages (the CLI draws its own bar; kept for compatibility)."""

    # --- parallel runs -------------------------------------------------------------------

    def lock(self) -> None:
        """Take the parallel lock (a no-op outside `--parallel`)."""
        if self.parallel_lock is not None:
            self.parallel_lock.acquire()

    def unlock(self) -> None:
        """Release the parallel lock."""
        if self.parallel_lock is not None:
            self.parallel_lock.release()

    # --- the registry --------------------------------------------------------------------

    def _peek_run_number(self) -> int:
        from tether.catalog import default_catalog

        def work(connection: Any) -> int:
            row = connection.execute(
                "SELECT last_number FROM experiment_counters WHERE experiment = ?", (self.experiment_name,)
            ).fetchone()
            return (int(row[0]) if row else 0) + 1

        try:
            return int(default_catalog.database.read(work))  # type: ignore[attr-defined]
        except Exception:
            return 1

    def build_run_info(self) -> dict[str, Any]:
        """The metadata block of this run (`run_info`), as the registry and reports show it."""
        from tether.experiments.environment import python_info

        counts: dict[str, int] = {}
        for record in self.records:
            for status in record.stage_status.values():
                counts[status] = counts.get(status, 0) + 1
        self.run_info = {
            "reference": self.get_reference_name(),
            "experiment_name": self.experiment_name,
            "run_number": self.experiment_run_number,
            "timestamp": self.get_str_timestamp(),
            "status": self.status,
            "error": self.error,
            "traceback": self.error_traceback,
            "commit": self.git_commit_hash,
            "workdir_dirty": self.git_workdir_dirty,
            "hostname": self.hostname,
            "os": self.os,
            "notes": self.notes,
            "params": self.param_file_param_sets,
            "param_files": self.parameter_files,
            "cli": self.run_line,
            "reproduce": self.reproduction_line,
            "store_full": self.store_full,
            "run_folder": self.get_run_output_path() if self.store_full else None,
            "prefix": self.cache_prefix,
            "cache_path": self.cache_path,
            "stages": counts,
            **python_info(),
        }
        return self.run_info

    def _entry(self) -> Any:
        from tether.catalog import RunEntry

        finished = datetime.now(timezone.utc) if self.status in ("complete", "error") else None
        run_folder = ""
        if self.store_full:
            run_folder = f"{RUNS_FOLDER}/{self.get_reference_name()}"
        return RunEntry(
            run_id=self.get_reference_name(),
            dag=self.experiment_name,
            kind="experiment",
            status=self.status,
            run_folder=run_folder,
            created_at=self._started,
            started_at=self._started,
            finished_at=finished,
            duration=(finished - self._started).total_seconds() if finished else None,
            git_commit=self.git_commit_hash,
            git_dirty=self.git_workdir_dirty,
            host=self.hostname,
            command=self.run_line,
            record={
                "run_info": self.build_run_info(),
                "pip_freeze": self.pip_freeze,
                # The fields of a DAG run's run.json that `tether runs show` reads.
                "environment": {
                    "host": self.hostname,
                    "os": self.os,
                    "git": {"commit": self.git_commit_hash, "dirty": self.git_workdir_dirty},
                },
                "error": self.error,
                "failed_task": self.current_stage_name if self.error else None,
                "reproduce": self.reproduction_line,
            },
        )

    def store(self) -> None:
        """Record this run in the registry: the first call takes its run number, later calls update it.

        A dry run records nothing.
        """
        if self.dry or self.parallel_mode:
            return
        from tether.catalog import default_catalog
        from tether.catalog.experiments import ExperimentIndex

        index = ExperimentIndex(default_catalog.database)  # type: ignore[attr-defined]
        if not self.stored:
            entry = self._entry()
            stamp = self.get_str_timestamp()
            entry.run_id = f"{self.experiment_name}_{{number}}_{stamp}"
            self.experiment_run_number = index.register_run(entry)
            self.stored = True
            return
        index.update_run(self._entry())

    # --- outputs -------------------------------------------------------------------------

    def generate_report(self) -> Any:
        """Write the report (`reports/<ref>/`, `reports/_latest/`, the index); copy it into a full store.

        The copy, `report/` of the `--store-full` folder, links to that folder's
        own `run.log` and to the folder itself.

        Returns:
            The report folder, or None for a dry run.
        """
        if self.dry:
            return None
        from tether.experiments.report import write_report

        return write_report(self, store_copy=self.get_run_staging_path("report") if self.store_full else None)

    def write_run_env_output(self) -> None:
        """Write the environment (pip freeze, conda, python, platform, git commit and diff) into the run folder."""
        from tether.experiments.store_full import write_environment

        write_environment(self)

    # --- notebook displays ---------------------------------------------------------------

    def _display(self, html: str) -> Any:
        try:
            from IPython.display import HTML
        except ImportError:
            return html
        return HTML(html)

    def display_info(self) -> Any:
        """The report's info block, as IPython HTML (or an HTML string without IPython)."""
        from tether.experiments.report import info_block_html

        return self._display(info_block_html(self))

    def display_stage_graph(self) -> Any:
        """The SVG graph of records, stages and artifacts."""
        from tether.experiments.report import stage_graph_svg

        return self._display(stage_graph_svg(self))

    def _display_reportables(self, reportables: list[Any]) -> Any:
        from tether.experiments.report import reportables_html

        self.live_report_path_generated = True
        return self._display(reportables_html(reportables))

    def display_all_reportables(self) -> Any:
        """Every reportable of the run."""
        return self._display_reportables(list(self.reportables))

    def display_group_reportables(self, group_name: str) -> Any:
        """The reportables of one group."""
        return self._display_reportables(self.get_grouped_reportables().get(group_name, []))

    def display_record_reportables(self, record: Record) -> Any:
        """The reportables one record produced."""
        return self._display_reportables([r for r in self.reportables if r.record is record])

    def display_reportable(self, reportable: Any) -> Any:
        """One reportable."""
        return self._display_reportables([reportable])

    def display_stage_reportables(self, stage_name: str) -> Any:
        """The reportables one stage produced."""
        return self._display_reportables([r for r in self.reportables if r.stage == stage_name])

    def __repr__(self) -> str:
        return f"<ArtifactManager {self.get_reference_name()} {self.status}>"


class _Unset:
    pass


_UNSET = _Unset()


def _live_log(debug: bool) -> None:
    """A live manager (a notebook, a script) logs to the console as `tether` commands do."""
    import logging

    _settings().configure_logging()
    if debug:
        logging.getLogger("tether").setLevel(logging.DEBUG)


def _git(base_dir: str) -> dict[str, Any]:
    from tether.experiments.environment import git_state

    return git_state(base_dir)
