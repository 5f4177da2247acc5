"""What a run folder records about a run: `run.json`, and how to find runs again."""

from __future__ import annotations

import getpass
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import tether
from tether.exceptions import RunNotFoundError
from tether.files.storages import BaseStorage

RUN_FILE = "run.json"
CONTEXT_FILE = "context.yaml"
LOGS_DIR = "logs"


def now_iso() -> str:
    """The current UTC time in ISO 8601 form."""
    return datetime.now(timezone.utc).isoformat()


def git_info(path: str) -> dict[str, Any]:
    """The git commit (full hash), branch and dirty flag of the checkout holding `path`.

    Returns an empty dict outside a git checkout or when git is not installed.
    """
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", path, *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    status = git("status", "--porcelain")
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status),
    }


def environment(base_dir: str) -> dict[str, Any]:
    """Where and how a run happens: host, user, python, platform, git, tether version."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return {
        "host": socket.gethostname(),
        "user": user,
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "tether_version": tether.__version__,
        "cwd": os.getcwd(),
        "git": git_info(base_dir),
    }


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command line that started this process, shell-quoted."""
    args = list(sys.argv if argv is None else argv)
    if args and args[0].endswith("manage.py"):
        args = ["python", os.path.basename(args[0]), *args[1:]]
    elif args:
        args[0] = os.path.basename(args[0])
    return shlex.join(args)


@dataclass
class TaskRecord:
    """Status and timings of one task of a run."""

    label: str
    status: str = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    attempts: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the task succeeded."""
        return self.status == "success"


@dataclass
class RunRecord:
    """The contents of `run.json`."""

    run_id: str
    run_folder: str
    dag: str
    status: str = "running"
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    plan: list[str] = field(default_factory=list)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    failed_task: str | None = None
    error: str | None = None
    command: str | None = None
    reproduce: str | None = None
    resume: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        """`run.json` text."""
        # vars() rather than dataclasses.asdict, which deep-copies every value, and
        # no indent, which keeps json on its C encoder: both dominated the cost of
        # saving a run of thousands of tasks. `tether runs show --json` indents.
        data = dict(vars(self))
        data["tasks"] = {label: vars(task) for label, task in self.tasks.items()}
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunRecord:
        """Parse `run.json` text."""
        data = json.loads(text)
        data["tasks"] = {
            label: TaskRecord(**task) for label, task in data.get("tasks", {}).items()
        }
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "success"


def iter_runs(storage: BaseStorage) -> Iterator[RunRecord]:
    """Every run recorded under `runs/` in `storage`, newest day first."""
    for year in _dirs(storage, "runs"):
        for month in _dirs(storage, f"runs/{year}"):
            for day in _dirs(storage, f"runs/{year}/{month}"):
                for run_id in _dirs(storage, f"runs/{year}/{month}/{day}"):
                    folder = f"runs/{year}/{month}/{day}/{run_id}"
                    record = load_run(storage, folder)
                    if record is not None:
                        yield record


def _dirs(storage: BaseStorage, path: str) -> list[str]:
    if not storage.isdir(path):
        return []
    return sorted(storage.ls(path)[1], reverse=True)


def load_run(storage: BaseStorage, folder: str) -> RunRecord | None:
    """The record of the run in `folder`, or None if it has none (or it is unreadable)."""
    path = f"{folder.strip('/')}/{RUN_FILE}"
    if not storage.isfile(path):
        return None
    try:
        return RunRecord.from_json(storage.read(path))
    except (ValueError, TypeError):
        return None


def find_run(storage: BaseStorage, ref: str) -> RunRecord:
    """The run named by `ref`: a run folder, a run id, or a unique prefix of a run id.

    Raises:
        RunNotFoundError: nothing matches, or a prefix matches several runs.
    """
    ref = ref.strip().strip("/")
    if "/" in ref:
        record = load_run(storage, ref)
        if record is None:
            raise RunNotFoundError(
                f"no run in folder {ref!r}; `tether runs ls` lists the runs"
            )
        return record
    matches = [run for run in iter_runs(storage) if run.run_id.startswith(ref)]
    exact = [run for run in matches if run.run_id == ref]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run with id {ref!r}; `tether runs ls` lists the runs")
    raise RunNotFoundError(
        f"{ref!r} matches {len(matches)} runs; give more characters of the run id"
    )
