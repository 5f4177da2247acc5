"""`run_experiment`: import an experiment, map it, run it, record it.

An experiment module (in the `experiments` package, `EXPERIMENTS_MODULE`)
defines `run(param_sets, manager)`, which makes a `Record` per parameter set
and passes it through stages. A run:

1. registers itself in the catalog (which gives it its run number);
2. runs `run()` once in map mode, where stages only compute their cache keys,
   and decides what each stage call does (`planning`);
3. runs `run()` for real (parameter sets split over worker processes with
   `parallel`, aggregates computed once afterwards in this process);
4. files the new cache entries as bundles, writes the full store and the
   report, and records the run as `complete`, or as `error` with the reason;
5. with `--store-full`, marks the run folder complete and, on a remote
   STORAGE_ROOT, uploads it (an upload that fails raises `ExperimentError`
   once the run is recorded).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tether.experiments.errors import ExperimentError, ExperimentFailedError, ExperimentNotFoundError
from tether.experiments.manager import ArtifactManager
from tether.experiments.params import load_parameter_sets, parameters_hash

__all__ = ["run_experiment", "load_experiment"]

logger = logging.getLogger("tether.experiments")


def load_experiment(name: str) -> Any:
    """The experiment module `name` (in `EXPERIMENTS_MODULE`, or a dotted path), checked for `run()`.

    Raises:
        ExperimentNotFoundError: no such module.
        ExperimentError: the module has no `run(param_sets, manager)`.
    """
    from tether.conf import settings

    module_path = name if "." in name else f"{settings.EXPERIMENTS_MODULE}.{name}"
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise ExperimentNotFoundError(
                f"no experiment {name!r}: module {module_path} does not exist; create"
                f" {module_path.replace('.', '/')}.py with run(param_sets, manager)"
            ) from exc
        raise
    if not callable(getattr(module, "run", None)):
        raise ExperimentError(
            f"experiment {name!r} ({module.__name__}) has no run(param_sets, manager); define it"
        )
    return module


def _param_sets(module: Any, name: str, param_files: Sequence[str], names: Sequence[str] | None
                ) -> tuple[list[Any], dict[str, list[list[str]]], list[str]]:
    if param_files:
        sets, by_file = load_parameter_sets(param_files, only=names)
        return sets, by_file, list(param_files)
    if callable(getattr(module, "get_params", None)):
        found = list(module.get_params())
        for item in found:
            item.hash = parameters_hash(item)
        if names:
            found = [item for item in found if getattr(item, "name", None) in names]
        return found, {name: [[str(getattr(i, "name", "")), i.hash] for i in found]}, [name]
    try:
        sets, by_file = load_parameter_sets([name], only=names)
    except ExperimentNotFoundError:
        raise ExperimentError(
            f"experiment {name!r} was given no parameter file; pass -p FILE (a module of the params"
            " package with get_params()), or define get_params() in the experiment"
        ) from None
    return sets, by_file, [name]


@contextlib.contextmanager
def _run_log(manager: ArtifactManager) -> Iterator[str | None]:
    """What tether (or, with `disable_non_cf_loggers=False`, anything) logs during the run goes to `logs/<ref>.log`.

    Dry runs write no log.
    """
    if manager.dry:
        yield None
        return
    os.makedirs(manager.logs_path, exist_ok=True)
    path = os.path.join(manager.logs_path, f"{manager.get_reference_name()}.log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG if manager.live_log_debug else logging.INFO)
    # Only tether's records unless the manager asks for every library's.
    root = logging.getLogger("tether" if manager.disable_non_cf_loggers else None)
    previous = root.level
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    manager.log_handler = handler  # type: ignore[attr-defined]
    try:
        yield path
    finally:
        root.removeHandler(handler)
        manager.log_handler = None  # type: ignore[attr-defined]
        root.setLevel(previous)
        handler.close()


def _map(module: Any, param_sets: list[Any], manager: ArtifactManager, required: bool) -> None:
    manager.map_mode = True
    try:
        module.run(param_sets, manager)
    except Exception as exc:
        if required:
            manager.map_mode = False
            raise ExperimentError(
                f"mapping experiment {manager.experiment_name!r} failed ({type(exc).__name__}: {exc}); its run()"
                " must call stages without reading their outputs' values to be mapped"
            ) from exc
        # run() read a stage's output while mapping: run without a plan, deciding stage by stage.
        logger.info("experiment %s cannot be mapped (%s: %s); stages decide one by one",
                    manager.experiment_name, type(exc).__name__, exc)
        manager.plan_nodes = []
        manager.records = []
        manager.map_mode = False
        return
    manager.map_records()


def run_experiment(
    experiment_name: str,
    param_files: Sequence[str] | None = None,
    *,
    param_sets: list[Any] | None = None,
    names: Sequence[str] | None = None,
    dry: bool = False,
    dry_cache: bool = False,
    store_full: bool = False,
    prefix: str | None = None,
    cache_path: str | None = None,
    overwrite: bool = False,
    overwrite_stages: Sequence[str] | None = None,
    lazy: bool = False,
    ignore_lazy: bool = False,
    parallel: int | None = None,
    map_only: bool = False,
    explain: bool = False,
    notes: str | None = None,
    report: bool = True,
    notebook: bool = False,
    run_line: str = "",
    on_stage_done: Callable[[Any, str], None] | None = None,
    on_planned: Callable[[ArtifactManager], None] | None = None,
) -> ArtifactManager:
    """Run experiment `experiment_name` over parameter sets; returns its manager.

    Args:
        experiment_name: a module of the `experiments` package (or a dotted path).
        param_files: modules of the `params` package whose `get_params()` give the sets.
        param_sets: the sets themselves (instead of files).
        names: run only the sets with these names.
        dry: write nothing (no cache, registry, report or log).
        dry_cache: write no cache files.
        store_full: write a self-contained run folder (`experiments/<ref>/` under STORAGE_ROOT).
        prefix: the cache prefix (default: the experiment's name).
        cache_path: the cache folder (a `--store-full` folder's `artifacts` to reproduce it).
        overwrite: recompute every stage.
        overwrite_stages: recompute these stages and everything downstream of them.
        lazy: keep every output on disk until needed.
        ignore_lazy: keep every output in memory.
        parallel: run the parameter sets in this many processes.
        map_only: map the stages and decide, but run nothing.
        explain: like `map_only`, and explain each decision (`manager.plan`).
        notes: a note stored with the run; an empty string asks for it (`ask_notes`).
        report: write the HTML report.
        notebook: write a Jupyter notebook that loads the run's records
            (`notebooks/experiments/<ref>.ipynb`, and one in the `--store-full` folder).
        run_line: the command line, for the registry.
        on_stage_done: called with (record, stage name) after each stage call.
        on_planned: called with the manager once the plan is decided.

    Raises:
        ExperimentNotFoundError: no such experiment or parameter file.
        ExperimentError: the experiment or its parameters are malformed, or its
            `--store-full` folder cannot be written or uploaded.
        ExperimentFailedError: the experiment raised; the run is recorded with status `error`.
    """
    module = load_experiment(experiment_name)
    short_name = experiment_name.rsplit(".", 1)[-1]
    if param_sets is None:
        param_sets, by_file, files = _param_sets(module, short_name, param_files or [], names)
    else:
        for item in param_sets:
            item.hash = parameters_hash(item)
        by_file, files = {"(given)": [[str(getattr(i, "name", "")), i.hash] for i in param_sets]}, []
    planning_only = map_only or explain
    notebook_options = {"names": list(names or []), "cache_path": cache_path} if notebook else None
    manager = ArtifactManager(
        short_name, store_full=store_full and not planning_only, dry=dry or planning_only,
        dry_cache=dry_cache, prefix=prefix, run_line=run_line, lazy=lazy, ignore_lazy=ignore_lazy,
        notes=notes, cache_path=cache_path, status_override="incomplete",
    )
    manager.overwrite = overwrite
    manager.overwrite_stages = list(overwrite_stages or [])
    manager.explain = explain
    manager.parameter_files = files
    manager.param_file_param_sets = by_file
    manager.store()
    with _run_log(manager) as log_path:
        manager.log_path = log_path  # type: ignore[attr-defined]
        try:
            _map(module, param_sets, manager, required=planning_only)
            if on_planned is not None:
                on_planned(manager)
            if planning_only:
                manager.status = "complete"
                return manager
            manager.on_stage_done = on_stage_done
            if parallel and parallel > 1 and len(param_sets) > 1:
                from tether.experiments.parallel import run_workers

                run_workers(experiment_name, param_sets, manager, parallel)
                manager.parallel_done = True
                # The workers filled the cache: map again so this process loads what they made.
                manager.records, manager.plan_nodes, manager.plan = [], [], None
                _map(module, param_sets, manager, required=False)
            module.run(param_sets, manager)
        except BaseException as exc:
            _fail(manager, exc, notebook=notebook_options)
            if isinstance(exc, Exception):
                where = f" in stage {manager.current_stage_name!r}" if manager.current_stage_name else ""
                raise ExperimentFailedError(
                    f"experiment {manager.experiment_name!r} (run {manager.get_reference_name()}) failed"
                    f"{where}: {type(exc).__name__}: {exc}"
                ) from exc
            raise
        _finish(manager, report, notebook=notebook_options)
    return manager


def _fail(manager: ArtifactManager, exc: BaseException, *, notebook: dict[str, Any] | None = None) -> None:
    manager.status = "error"
    manager.error_thrown = True
    manager.error = f"{type(exc).__name__}: {exc}"
    manager.error_traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    handler = getattr(manager, "log_handler", None)
    if handler is not None:
        # The run log gets the failure with its traceback; the console gets the CLI's one line.
        handler.emit(logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "experiment %s failed: %s",
                                       (manager.experiment_name, manager.error), (type(exc), exc, exc.__traceback__)))
    with contextlib.suppress(Exception):
        if not (manager.dry or manager.dry_cache):
            manager.cache.flush()
    manager.store()
    if notebook is not None and not manager.dry:
        _write_notebook(manager, notebook)


def _finish(manager: ArtifactManager, report: bool, *, notebook: dict[str, Any] | None = None) -> None:
    from tether.experiments.store_full import finish_store, write_store

    if manager.dry or manager.dry_cache:
        manager.cache.discard()
    else:
        manager.cache.flush()
    manager.status = "complete"
    store_full = manager.store_full and not manager.dry
    if store_full:
        folder = write_store(manager)
        if notebook is not None:
            _write_notebook(manager, notebook, store_folder=folder)
    # Recorded before the report, whose index of all runs reads the registry.
    manager.store()
    if report and not manager.dry:
        try:
            manager.generate_report()
        except Exception as exc:
            # The experiment's results are cached and recorded; a report that cannot
            # be drawn is a warning, not a failed run.
            logger.warning("experiment %s: the report was not written: %s: %s",
                           manager.get_reference_name(), type(exc).__name__, exc)
    if notebook is not None and not manager.dry:
        _write_notebook(manager, notebook)
    if store_full:
        # Last, once the report is copied in: run_info.json marks the folder complete.
        finish_store(manager)


def _write_notebook(manager: ArtifactManager, options: dict[str, Any], store_folder: str | None = None) -> None:
    """Write the run's notebook (or its `--store-full` folder's); one that cannot be written is a warning.

    `options` are those of the run the notebook repeats (`names`, `cache_path`).
    """
    from tether.experiments.notebook import write_notebook, write_store_notebook

    try:
        if store_folder is None:
            path = write_notebook(manager, **options)
        else:
            path = write_store_notebook(manager, store_folder)
    except OSError as exc:
        logger.warning("experiment %s: the notebook was not written: %s", manager.get_reference_name(), exc)
        return
    logger.info("notebook of run %s: %s", manager.get_reference_name(), path)
