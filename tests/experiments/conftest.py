"""A project with its own experiments and params packages, in process, on local storage."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tether.conf import settings


@dataclass
class ExpProject:
    root: Path
    experiments: str
    params: str

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        importlib.invalidate_caches()
        return path

    def experiment(self, name: str, text: str) -> str:
        """Write experiments/<name>.py (dropping an imported copy); returns the module path."""
        self.write(f"{self.experiments}/{name}.py", text)
        # A rewrite within the same second and of the same size would pass for the old bytecode.
        shutil.rmtree(self.root / self.experiments / "__pycache__", ignore_errors=True)
        sys.modules.pop(f"{self.experiments}.{name}", None)
        return name

    def param_file(self, name: str, text: str) -> str:
        self.write(f"{self.params}/{name}.py", text)
        shutil.rmtree(self.root / self.params / "__pycache__", ignore_errors=True)
        sys.modules.pop(f"{self.params}.{name}", None)
        return name

    def module(self, name: str) -> object:
        return sys.modules[f"{self.experiments}.{name}"]

    @property
    def cache(self) -> Path:
        return self.root / "data" / "cache"

    def settings_module(self) -> str:
        """Write a settings module of this project on local storage, for subprocesses; returns its name."""
        name = f"settings_{self.experiments.removeprefix('experiments_')}"
        self.write(f"{name}.py", f"""
            BASE_DIR = {str(self.root)!r}
            STORAGE_ROOT = {str(self.root / "data")!r}
            CONFIG_PATH = {str(self.root)!r}
            EXPERIMENTS_MODULE = {self.experiments!r}
            PARAMS_MODULE = {self.params!r}
            ALLOW_PICKLE = True
        """)
        return name


def reproduce(folder: Path, project_root: Path, settings_module: str) -> str:
    """Run the `reproduce.sh` of the --store-full `folder` as a subprocess; check that it loaded every stage.

    The project's packages are importable (PYTHONPATH) and its settings are
    `settings_module`. Returns the command's output.
    """
    env = {**os.environ, "PYTHONPATH": str(project_root), "TETHER_SETTINGS_MODULE": settings_module,
           "PYTHON": sys.executable}
    done = subprocess.run(["sh", "reproduce.sh"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # "Experiment <ref> complete in 0.1s: 4 cached": nothing ran again.
    assert " ran" not in done.stdout.split(":", 1)[1], done.stdout
    assert "cached" in done.stdout
    return done.stdout


@pytest.fixture
def exp_project(tmp_path: Path) -> Iterator[ExpProject]:
    """Settings for a project in tmp_path with uniquely named experiments/params packages."""
    tag = uuid.uuid4().hex[:8]
    project = ExpProject(tmp_path, f"experiments_{tag}", f"params_{tag}")
    for package in (project.experiments, project.params):
        project.write(f"{package}/__init__.py", "")
    sys.path.insert(0, str(tmp_path))
    try:
        with settings.override(
            BASE_DIR=str(tmp_path),
            STORAGE_BACKEND=None,
            STORAGE_ROOT=str(tmp_path / "data"),
            CONFIG_PATH=str(tmp_path),
            INSTALLED_MODULES=[],
            EXPERIMENTS_MODULE=project.experiments,
            PARAMS_MODULE=project.params,
            ALLOW_PICKLE=True,
        ):
            yield project
    finally:
        sys.path.remove(str(tmp_path))
        for name in list(sys.modules):
            if name.startswith((project.experiments, project.params)):
                del sys.modules[name]


PARAMS = '''
from dataclasses import dataclass
from tether.experiments import ExperimentParameters

@dataclass
class Params(ExperimentParameters):
    n: int = 3

def get_params():
    return [Params(name="a", n=3), Params(name="b", n=5)]
'''

CHAIN = '''
from tether.experiments import stage, aggregate, Record, PickleCacher, JsonCacher
calls = []

@stage(outputs=["data"], cachers=[PickleCacher])
def load(record):
    calls.append(("load", record.args.name))
    return list(range(record.args.n))

@stage(inputs=["data"], outputs=["total"], cachers=[JsonCacher])
def total(record, data):
    calls.append(("total", record.args.name))
    return sum(data)

@stage(inputs=["total"], outputs=["doubled"], cachers=[JsonCacher])
def double(record, total):
    calls.append(("double", record.args.name))
    return total * 2

def run(param_sets, manager):
    for params in param_sets:
        double(total(load(Record(manager, params))))
'''


@pytest.fixture
def chain(exp_project: ExpProject) -> ExpProject:
    """exp_project with the experiment `chain` (load -> total -> double) and params `base` (a, b)."""
    exp_project.param_file("base", PARAMS)
    exp_project.experiment("chain", CHAIN)
    return exp_project
