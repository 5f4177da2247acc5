"""A DAG task's outputs as a bundle `<dag>.<task>`, with lineage to the bundles it read.

`bundle_task_outputs` is the default TASK_HOOKS entry: the runner calls it after
each task that succeeds, with the storage paths the task read and wrote.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.exec.records import RunRecord, TaskRecord
    from tether.exec.task import Task
    from tether.files.storages import BaseStorage
    from tether.files.storages.tracking import IOLog

__all__ = ["bundle_task_outputs", "bundle_name"]

# What the runner itself keeps in a run folder: never a task's output.
_BOOKKEEPING = ("run.json", "context.yaml", "metrics.json", "logs/", "patches/")
_RUN_PATH = re.compile(r"^(runs/\d{4}/\d{2}/\d{2}/([^/]+))/(.+)$")


def bundle_name(dag: str, task: str) -> str:
    """The name of the bundle holding a task's outputs."""
    return f"{dag}.{task}"


def _outputs(run_folder: str, written: list[str], storage: BaseStorage) -> list[str]:
    prefix = run_folder.rstrip("/") + "/"
    found = []
    for path in written:
        if not path.startswith(prefix):
            continue
        relative = path[len(prefix):]
        if relative.startswith(_BOOKKEEPING) or relative in _BOOKKEEPING:
            continue
        if storage.exists(path):
            found.append(relative)
    return found


def _producer(path: str, context: str) -> tuple[str, str] | None:
    """The bundle of a DAG run that output `path` (a run-folder path): (uuid, output name)."""
    from tether.bundles.api import search

    match = _RUN_PATH.match(path)
    if match is None:
        return None
    _, run_id, relative = match.groups()
    for bundle in search(context, search_tags={"run_id": run_id}):
        if relative in (bundle.params.get("outputs") or ()):
            return bundle.uuid, relative
    return None


def bundle_task_outputs(
    task: type[Task], run: RunRecord, result: TaskRecord, io_log: IOLog, storage: BaseStorage
) -> str | None:
    """File what `task` wrote in its run folder as the bundle `<dag>.<task>`; return its uuid.

    The bundle is tagged with the run id, DAG and task, depends on the bundles
    of earlier tasks (of this run or others) whose outputs the task read, and
    lists other files it read in its `inputs` parameter. A task that wrote no
    file in its run folder makes no bundle.
    """
    if not io_log.writes:
        return None
    outputs = _outputs(run.run_folder, io_log.written_paths(storage.root), storage)
    if not outputs:
        return None
    # Imported here: the runner imports this hook for every run, most of whose tasks file nothing.
    from tether.bundles.bundle import Bundle
    from tether.bundles.contexts import current_context
    from tether.bundles.files import StorageFile

    context = current_context()
    dependencies: dict[str, str] = {}
    inputs: list[str] = []
    for path in io_log.read_paths(storage.root):
        producer = _producer(path, context)
        if producer is None:
            inputs.append(path)
        elif producer[0] not in dependencies.values():
            dependencies[producer[1]] = producer[0]
    git = run.environment.get("git") or {}
    params: dict[str, Any] = {"run_folder": run.run_folder, "outputs": outputs, "inputs": inputs}
    with Bundle(
        context,
        name=bundle_name(run.dag, task.label),
        processing_name=f"{task.__module__}.{task.__qualname__}",
        tags={"run_id": run.run_id, "dag": run.dag, "task": task.label},
        params=params,
        code_method=f"{task.__module__}.{task.__qualname__}.run",
    ) as bundle:
        data = {name: StorageFile(f"{run.run_folder}/{name}", name=name, storage=storage) for name in outputs}
        bundle.add_data(data)
        if dependencies:
            bundle.add_dependencies(list(dependencies.values()), list(dependencies))
        if git.get("commit"):
            bundle.add_git_info(str(git.get("remote") or ""), git["commit"], str(git.get("branch") or ""))
    return bundle.uuid
