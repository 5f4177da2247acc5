"""`--parallel N`: parameter sets split over N worker processes that share the cache.

Each worker runs the experiment on its share of the sets with a manager in
parallel mode: stages compute or load as usual and file their cache entries,
aggregates are skipped, nothing is registered. The parent then runs the whole
experiment, which loads what the workers made and computes each aggregate once.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from tether.experiments.errors import ExperimentError

__all__ = ["run_workers", "split"]


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """`items` in at most `parts` contiguous, nearly equal chunks."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return chunks


def run_workers(experiment_name: str, param_sets: list[Any], manager: Any, processes: int) -> None:
    """Run `param_sets` in `processes` workers with `manager`'s options.

    Raises:
        ExperimentError: a worker failed (its message is included).
    """
    options = {
        "dry_cache": manager.dry_cache,
        "prefix": manager.prefix,
        "lazy": manager.lazy,
        "ignore_lazy": manager.ignore_lazy,
        "cache_path": manager.cache_path,
        "status_override": "incomplete",
    }
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    chunks = split(param_sets, processes)
    with context.Pool(len(chunks)) as pool:
        results = [
            pool.apply_async(_worker, (experiment_name, chunk, options, manager.overwrite,
                                                  list(manager.overwrite_stages)))
            for chunk in chunks
        ]
        outcomes = [result.get() for result in results]
    errors = [error for _, error in outcomes if error]
    if errors:
        raise ExperimentError(f"a parallel worker failed: {errors[0]}")


def _worker(experiment_name: str, param_sets: list[Any], options: dict[str, Any], overwrite: bool,
                       overwrite_stages: list[str]) -> tuple[int, str | None]:
    from tether.experiments.experiment import _map, load_experiment
    from tether.experiments.manager import ArtifactManager

    module = load_experiment(experiment_name)
    manager = ArtifactManager(experiment_name.rsplit(".", 1)[-1], parallel_mode=True, **options)
    manager.overwrite = overwrite
    manager.overwrite_stages = overwrite_stages
    try:
        _map(module, param_sets, manager, required=False)
        module.run(param_sets, manager)
    except Exception as exc:
        manager.cache.flush()
        return len(param_sets), f"{type(exc).__name__}: {exc}"
    manager.cache.flush()
    return len(param_sets), None
