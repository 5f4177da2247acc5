"""What a run folder records about a run: `run.json`, and how to find runs again."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import tether
from tether.catalog import TaskEntry, default_catalog
from tether.files.storages import BaseStorage

RUN_FILE = "run.json"
CONTEXT_FILE = "context.yaml"
LOGS_DIR = "logs"


def now_iso() -> str:
    """The current UTC time in ISO 8601 form."""
    # Always with microseconds: the catalog's canonical form, so it need not convert.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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


def platform_name() -> str:
    """The platform as `platform.platform()` names it (`Linux-6.1.0-x86_64-with-glibc2.36`).

    On Linux it is made from `os.uname()` and the C library's version, without
    `platform.platform()`, which reads the Python executable to find that
    version (several milliseconds at the start of every run).
    """
    if sys.platform.startswith("linux"):
        uname = os.uname()
        try:
            libc = (os.confstr("CS_GNU_LIBC_VERSION") or "").replace(" ", "")
        except (ValueError, OSError):
            libc = ""
        if libc:
            return f"{uname.sysname}-{uname.release}-{uname.machine}-with-{libc}"
    import platform

    return platform.platform()


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
        "platform": platform_name(),
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
class TaskRecord(TaskEntry):
    """Status and timings of one task of a run: the catalog's task entry, as the runner keeps it."""

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
    storage_root: str | None = None
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
        task_fields = set(TaskRecord.__dataclass_fields__)
        data["tasks"] = {
            label: TaskRecord(**{**{k: v for k, v in task.items() if k in task_fields}, "label": label})
            for label, task in data.get("tasks", {}).items()
        }
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "success"


def find_run(storage: BaseStorage, ref: str) -> RunRecord:
    """The run named by `ref`: a run id, a unique prefix of one, or a run folder.

    The catalog resolves `ref`; the run's own `run.json` is read when its folder
    is in `storage`, and the catalog's copy otherwise.

    Raises:
        RunNotFoundError: nothing matches, or a prefix matches several runs.
    """
    entry = default_catalog.get_run(ref.strip())
    record = load_run(storage, entry.run_folder) if entry.run_folder else None
    if record is None:
        record = RunRecord.from_json(json.dumps(entry.to_dict(), default=str))
    return record


def load_run(storage: BaseStorage, folder: str) -> RunRecord | None:
    """The record of the run in `folder`, or None if it has none (or it is unreadable)."""
    path = f"{folder.strip('/')}/{RUN_FILE}"
    if not storage.isfile(path):
        return None
    try:
        return RunRecord.from_json(storage.read(path))
    except (ValueError, TypeError):
        return None
