"""`--notebook`: a Jupyter notebook that loads a finished run's records for exploring.

`tether experiment NAME -p PARAMS --notebook` writes
`<notebooks_path>/experiments/<ref>.ipynb` (`notebooks_path` defaults to
`BASE_DIR/notebooks`). Its first cell says what the run was (reference, time,
git commit, parameter sets and their hashes) and warns when what it loads may
differ from what the run made: the project's cache is shared, so a later run
may have replaced an artifact, and a failed run has no artifacts past its
error. Its code cells run the experiment again with `dry=True`: every stage
that is cached is loaded (or left lazily on disk) rather than run, nothing is
written, and one cell per record names its state.

With `--store-full` the run's folder gets a notebook too, `<ref>.ipynb`, that
reads the folder's own parameter sets and artifacts, so it shows exactly what
the run made.

The notebook is nbformat 4.5 JSON, written here without Jupyter installed; the
notebook's folder is its working directory (as Jupyter starts it).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from tether.files.storages.unnamed import replacing

if TYPE_CHECKING:
    from tether.experiments.manager import ArtifactManager

__all__ = ["notebook_path", "write_notebook", "write_store_notebook"]


def notebook_path(manager: ArtifactManager) -> str:
    """Where the run's notebook goes: `<notebooks_path>/experiments/<ref>.ipynb`."""
    return os.path.join(manager.notebooks_path, "experiments", f"{manager.get_reference_name()}.ipynb")


def write_notebook(manager: ArtifactManager, names: list[str] | None = None, cache_path: str | None = None) -> str:
    """Write the notebook of the run into the project's notebooks folder; returns its path.

    Args:
        manager: the finished (or failed) run.
        names: the parameter sets the run was limited to (`--names`).
        cache_path: the cache folder the run was given (`--cache`), if any.
    """
    path = notebook_path(manager)
    folder = os.path.dirname(path)
    call = _call(manager, [
        repr(manager.experiment_name),
        repr(list(manager.parameter_files)),
        *([f"names={list(names)!r}"] if names else []),
        *([f"cache_path={os.path.abspath(cache_path)!r}"] if cache_path else []),
    ], prefix=manager.prefix)
    warnings = [
        "The project's cache is shared: a run since this one may have replaced what it holds."
        " A `--store-full` run's folder has a notebook that reads the run's own artifacts.",
    ]
    setup = [
        "import os",
        "import sys",
        "",
        "# The project's root, from this notebook's folder (Jupyter's working directory).",
        f"os.chdir({os.path.relpath(manager.base_dir, folder)!r})",
        "sys.path.insert(0, os.getcwd())",
        *_settings_lines(),
    ]
    _write(path, _notebook(manager, warnings, setup, call))
    return path


def write_store_notebook(manager: ArtifactManager, folder: str) -> str:
    """Write the notebook of a `--store-full` folder, reading its own parameters and artifacts; returns its path."""
    path = os.path.join(folder, f"{manager.get_reference_name()}.ipynb")
    # The folder's cache is under the run's cache prefix, whatever it was.
    call = _call(manager, [repr(manager.experiment_name), "param_sets=param_sets", 'cache_path="artifacts"'],
                 prefix=manager.cache_prefix)
    setup = [
        "import os",
        "import pickle",
        "import sys",
        "",
        "# This folder's parameter sets; the project's code must be importable.",
        'with open("params.pkl", "rb") as handle:',
        "    param_sets = pickle.load(handle)",
        f"project = {manager.base_dir!r}  # where the run was made: change it if the project moved",
        "if os.path.isdir(project):",
        "    sys.path.insert(0, project)",
        *_settings_lines(),
    ]
    _write(path, _notebook(manager, [], setup, call))
    return path


def _call(manager: ArtifactManager, arguments: list[str], *, prefix: str | None) -> list[str]:
    """The cell that runs the experiment again, reading instead of computing."""
    options = [*arguments, "dry=True", "report=False"]
    if prefix:
        options.append(f"prefix={prefix!r}")
    if manager.lazy:
        options.append("lazy=True")
    return [
        "from tether.experiments import run_experiment",
        "",
        "# dry: cached stages are loaded, others run without writing anything.",
        f"manager = run_experiment({', '.join(options)})",
    ]


def _settings_lines() -> list[str]:
    from tether.conf import settings

    module = getattr(settings, "SETTINGS_MODULE", None) if settings.configured else None
    if not module:
        return ["# Configure tether's settings here (TETHER_SETTINGS_MODULE) if they are not in the environment."]
    return [f'os.environ.setdefault("TETHER_SETTINGS_MODULE", {module!r})']


def _header(manager: ArtifactManager, warnings: list[str]) -> list[str]:
    git = manager.git_commit_hash or "none"
    if manager.git_commit_hash and manager.git_workdir_dirty:
        git += " (uncommitted changes)"
    lines = [
        f"# {manager.experiment_name} run {manager.experiment_run_number}",
        "",
        f"- Reference: **{manager.get_reference_name()}**",
        f"- Started: {manager.run_timestamp:%Y-%m-%d %H:%M:%S}",
        f"- Status: {manager.status}",
        f"- Git commit: {git}",
        f"- Command: `{manager.run_line}`" if manager.run_line else "- Command: (run from Python)",
        f"- Parameter files: {', '.join(manager.parameter_files) or '(given in Python)'}",
        "",
        "**Parameter sets**",
        "",
    ]
    for source, sets in manager.param_file_param_sets.items():
        lines.append(f"- {source}")
        lines.extend(f"  - {name}: `{digest}`" for name, digest in sets)
    if manager.status == "error":
        warnings = [*warnings, f"This run failed ({manager.error}): stages past the error have no artifacts."]
    for warning in warnings:
        lines.extend(["", f"**Note:** {warning}"])
    return lines


def _notebook(manager: ArtifactManager, warnings: list[str], setup: list[str], call: list[str]) -> dict[str, Any]:
    cells = [_cell("markdown", _header(manager, warnings)), _cell("code", setup), _cell("code", call)]
    for index, record in enumerate(manager.records):
        label = "aggregate" if record.is_aggregate else record.name
        cells.append(_cell("code", [
            f"record_{index} = manager.records[{index}]  # {label} [{record.get_hash()[:10]}]",
            f"state_{index} = record_{index}.state",
            f"print(record_{index}.name, record_{index}.stages, list(state_{index}))",
        ]))
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _cell(kind: str, lines: list[str]) -> dict[str, Any]:
    source = [line + "\n" for line in lines]
    if source:
        source[-1] = source[-1].rstrip("\n")
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _write(path: str, notebook: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with replacing(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        json.dump(notebook, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
