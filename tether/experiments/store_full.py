"""`--store-full`: a run folder that holds everything needed to look at and reproduce the run.

`experiments/<ref>/` under STORAGE_ROOT holds:

- `artifacts/`: every cached file the run used (computed, loaded or planned),
  under their cache names, with `cache_index.json` mapping each stage's cache
  key to them, so the folder is a cache on its own;
- `params.json` (readable) and `params.pkl` (the parameter sets, for reproducing);
- `requirements.txt` (every installed package), `environment.yml` (conda, if any),
  `environment.json` (python, platform, host, git commit, branch, dirty flag),
  `git.diff` (uncommitted changes);
- `run.log`, and `report/`, a copy of the report that links to this `run.log`
  and to the folder;
- `reproduce.sh`: runs the experiment again from this folder's parameters and
  artifacts (`--cache artifacts --dry-cache`), from the folder alone;
- `run_info.json`, written last: it marks the folder complete. A folder
  without it is not finished (the run stopped, or its upload failed or is
  still going); readers should look for it before trusting the rest.

`write_store` writes all but `run_info.json` when the run has finished, and
`finish_store` writes that after the report. On a local STORAGE_ROOT the
folder is written in place. On a remote one (`s3://...`) it is built in a
staging folder on this machine, `BASE_DIR/.tether/experiments/<ref>/`, which
is kept, and `finish_store` uploads it, `run_info.json` last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shlex
import shutil
import sys
from typing import TYPE_CHECKING, Any

from tether.experiments.cache_store import INDEX_FILE
from tether.experiments.errors import ExperimentError
from tether.files.storages.unnamed import replacing

if TYPE_CHECKING:
    from tether.experiments.manager import ArtifactManager

__all__ = ["write_store", "finish_store", "write_environment", "reproduce_command", "RUN_INFO_FILE"]

RUN_INFO_FILE = "run_info.json"
"""The file written last into a `--store-full` folder: the folder is complete when it is there."""


def _write(path: str, text: str) -> None:
    with replacing(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "hash_representations"}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    return repr(value)


def reproduce_command(manager: ArtifactManager) -> str:
    """The command, run inside the store folder, that reproduces the run from it."""
    args = ["-m", "tether", "experiment", manager.experiment_name, "--param-sets-file", "params.pkl",
            "--cache", "artifacts", "--dry-cache", "--prefix", manager.cache_prefix]
    return "python " + shlex.join(args)


def write_environment(manager: ArtifactManager) -> None:
    """Write the run's environment into its store folder."""
    from tether.experiments.environment import git_diff, python_info

    folder = manager.get_run_staging_path()
    os.makedirs(folder, exist_ok=True)
    _write(os.path.join(folder, "requirements.txt"), manager.pip_freeze)
    conda = manager.conda_env
    if conda:
        _write(os.path.join(folder, "environment.yml"), conda)
    environment = {
        **python_info(),
        "hostname": manager.hostname,
        "os": manager.os,
        "git": {"commit": manager.git_commit_hash, "branch": manager.git_branch,
                "dirty": manager.git_workdir_dirty},
    }
    _write(os.path.join(folder, "environment.json"), json.dumps(environment, indent=2))
    diff = git_diff(manager.base_dir) if manager.git_commit_hash else None
    if diff is not None:
        _write(os.path.join(folder, "git.diff"), diff)


def _copy(source: str, dest: str) -> None:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    temp = f"{dest}.{os.getpid()}.tmp"
    shutil.copy2(source, temp)
    os.replace(temp, dest)


def write_store(manager: ArtifactManager) -> str:
    """Write the full store of a finished run, but for `run_info.json` (`finish_store`); returns its local folder.

    Raises:
        ExperimentError: the folder cannot be written.
    """
    folder = manager.get_run_staging_path()
    artifacts = os.path.join(folder, "artifacts")
    try:
        os.makedirs(artifacts, exist_ok=True)
        write_environment(manager)
        index: dict[str, Any] = {}
        seen: set[str] = set()
        for _, _, key in manager.calls:
            if key in seen:
                continue
            seen.add(key)
            row = manager.cache.lookup(key)
            if row is None:
                continue
            for output in row.outputs.values():
                for relative in output.get("files", {}):
                    source = os.path.join(manager.cache_path, relative)
                    dest = os.path.normpath(os.path.join(artifacts, relative))
                    if not dest.startswith(os.path.abspath(artifacts) + os.sep):
                        # A cacher with its own path outside the cache folder: keep it under its name.
                        dest = os.path.join(artifacts, "external", os.path.basename(relative))
                    if os.path.isfile(source):
                        _copy(source, dest)
            index[key] = row.to_dict()
        _write(os.path.join(artifacts, INDEX_FILE), json.dumps(index, indent=1, sort_keys=True))
        param_sets = manager.get_all_param_sets()
        _write(os.path.join(folder, "params.json"), json.dumps(
            {"files": manager.param_file_param_sets, "sets": [_jsonable(p) for p in param_sets]}, indent=2))
        with replacing(os.path.join(folder, "params.pkl")) as temp, open(temp, "wb") as handle:
            pickle.dump([p for p in param_sets if p is not None], handle, protocol=pickle.HIGHEST_PROTOCOL)
        command = reproduce_command(manager)
        manager.reproduction_line = f"cd {shlex.quote(folder)} && {command}"
        script = (
            "#!/bin/sh\n"
            f"# Reproduce experiment run {manager.get_reference_name()} from this folder alone:\n"
            "# its parameter sets (params.pkl) and cached artifacts (artifacts/), read only.\n"
            "# Needs the project importable (PYTHONPATH) and its settings (TETHER_SETTINGS_MODULE).\n"
            "# PYTHON picks the interpreter (default: the one that made the run, else python).\n"
            'cd "$(dirname "$0")" || exit 2\n'
            f'PY="${{PYTHON:-{sys.executable}}}"\n'
            '[ -x "$PY" ] || PY=python\n'
            f'exec "$PY" {command.removeprefix("python ")} "$@"\n'
        )
        _write(os.path.join(folder, "reproduce.sh"), script)
        os.chmod(os.path.join(folder, "reproduce.sh"), 0o755)
        log = getattr(manager, "log_path", None)
        if log and os.path.isfile(log):
            _copy(log, os.path.join(folder, "run.log"))
    except OSError as exc:
        raise _unwritable(manager, folder, exc) from exc
    return folder


def finish_store(manager: ArtifactManager) -> str:
    """Mark the full store of a finished run complete (`run_info.json`) and upload it to a remote storage.

    Called after `write_store` and the report. On a remote STORAGE_ROOT the
    staging folder is uploaded to `experiments/<ref>/`, `run_info.json` last,
    and kept on this machine.

    Returns:
        Where the folder is: a local path, or the storage URL of the uploaded folder.

    Raises:
        ExperimentError: `run_info.json` cannot be written, or the upload failed
            (the run's results are cached and recorded all the same).
    """
    folder = manager.get_run_staging_path()
    try:
        _write(os.path.join(folder, RUN_INFO_FILE), json.dumps(_jsonable(manager.build_run_info()), indent=2))
    except OSError as exc:
        raise _unwritable(manager, folder, exc) from exc
    key = manager.get_run_storage_path()
    if key is not None:
        _upload(manager, folder, key)
    return manager.get_run_output_path()


def _unwritable(manager: ArtifactManager, folder: str, exc: OSError) -> ExperimentError:
    return ExperimentError(
        f"cannot write the full store of {manager.get_reference_name()} in {folder}: {exc};"
        f" check that {manager.runs_path} is writable"
    )


def _upload(manager: ArtifactManager, folder: str, key: str) -> None:
    """Upload the local `folder` to `key` of the default storage, `run_info.json` last."""
    from tether.files.storages import StorageError, default_storage

    names = sorted(name for name in os.listdir(folder) if name != RUN_INFO_FILE)
    try:
        for name in [*names, RUN_INFO_FILE]:
            default_storage.upload(os.path.join(folder, name), f"{key}/{name}", overwrite=True)
    except (StorageError, OSError) as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ExperimentError(
            f"cannot upload the full store of {manager.get_reference_name()} to {manager.get_run_output_path()}"
            f" ({reason}); the run is recorded and its results cached, and the folder is kept in {folder}:"
            " check STORAGE_ROOT and its credentials, then upload that folder there"
        ) from exc
