"""Shared fixtures: every test starts from unconfigured settings and no active context.

`project` is a fresh project from `tether startproject`, driven as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tether.conf import settings
from tether.conf import context as context_module

pytest_plugins = ["tether.testing.fixtures"]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TETHER_SETTINGS_MODULE", raising=False)
    saved = list(settings._stack)
    settings.reset()
    yield
    settings._stack[:] = saved
    settings.generation += 1
    del context_module._process_current[:]


TETHER = [sys.executable, "-m", "tether"]


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Project:
    root: Path

    def run(self, *args: str, entry: str = "manage.py", env: dict | None = None, cwd: Path | None = None,
            python_flags: tuple[str, ...] = ()) -> Result:
        """Run `python manage.py ARGS` (or another entry script) in the project."""
        command = [sys.executable, *python_flags, entry, *args]
        return _run(command, cwd or self.root, env)

    def tether(self, *args: str, env: dict | None = None) -> Result:
        """Run the `tether` CLI (python -m tether) from the project folder."""
        return _run([*TETHER, *args], self.root, env)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def add_module(self, name: str, tasks: str = "", dags: str = "") -> None:
        """Create a module with `startmodule`, then replace its tasks and dags."""
        result = self.run("startmodule", name)
        assert result.code == 0, result.err
        if tasks:
            self.write(f"{name}/tasks.py", tasks)
        if dags:
            self.write(f"{name}/dags.py", dags)

    def runs(self) -> list[dict]:
        """Every run.json under data/runs, oldest first."""
        found = [json.loads(p.read_text()) for p in (self.root / "data" / "runs").rglob("run.json")]
        return sorted(found, key=lambda r: r["started_at"] or "")

    def run_folder(self, record: dict) -> Path:
        return self.root / "data" / record["run_folder"]


def _run(command: list[str], cwd: Path, env: dict | None) -> Result:
    environment = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    environment.update(env or {})
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A new project `demo` made by `tether startproject demo`."""
    result = _run([*TETHER, "startproject", "demo"], tmp_path, None)
    assert result.code == 0, result.err
    return Project(tmp_path / "demo")
