"""The in-process worker of `bench_core.py`: times no-op DAGs under one tool's interpreter.

`bench_core.py --worker tether|gluepy` runs this under each tool's own venv, so it imports
only the standard library at module level; each harness imports its framework when built.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

@contextmanager
def stderr_to_devnull() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class TetherHarness:
    """Builds no-op DAG classes and runs them with `tether.exec.runner.run_dag`."""

    framework_logger = "tether"

    def __init__(self, base_dir: Path) -> None:
        from tether.conf import settings

        settings.configure(BASE_DIR=str(base_dir), INSTALLED_MODULES=[])
        settings.configure_logging()
        from tether.exec import DAG, Task
        from tether.exec.runner import run_dag

        self._dag, self._task, self._run_dag = DAG, Task, run_dag

    def make_dag(self, tasks: int, tag: str) -> Any:
        """A DAG class of `tasks` no-op tasks, chained by list order."""
        def run(self: Any) -> None:
            return None

        classes = [type(f"Noop{tag}T{i:05d}", (self._task,), {"run": run}) for i in range(tasks)]
        return type(f"Bench{tag}DAG", (self._dag,), {"label": f"bench_{tag}", "tasks": classes})

    def run(self, dag: Any) -> None:
        """Run `dag` in this process; raise if it did not succeed."""
        record = self._run_dag(dag)
        if not record.ok:
            raise RuntimeError(f"tether run of {dag.label} failed: {record.error}")


class GluepyHarness:
    """Builds no-op DAG classes and runs them with `gluepy.commands.dag.run_dag`.

    Gluepy keeps DAGs and tasks in global registries keyed by label, and caches the run
    context for the life of the process, so every run here shares one run folder.
    """

    framework_logger = "gluepy"

    def __init__(self, base_dir: Path) -> None:
        sys.path.insert(0, str(base_dir))
        os.environ["GLUEPY_SETTINGS_MODULE"] = "configs.settings"
        from gluepy.exec.boot import bootstrap

        bootstrap()
        from gluepy.commands.dag import run_dag
        from gluepy.exec import DAG, Task

        self._dag, self._task, self._run_dag = DAG, Task, run_dag

    def make_dag(self, tasks: int, tag: str) -> Any:
        """A DAG class of `tasks` no-op tasks, run in list order."""
        def run(self: Any) -> None:
            return None

        classes = [
            type(f"noop{tag}t{i:05d}", (self._task,), {"run": run, "label": f"noop{tag}t{i:05d}"})
            for i in range(tasks)
        ]
        return type(f"Bench{tag}DAG", (self._dag,), {"label": f"bench_{tag}", "tasks": classes})

    def run(self, dag: Any) -> None:
        """Run `dag` in this process (Gluepy raises on a failed task)."""
        self._run_dag(dag.label)


def worker_main(args: argparse.Namespace) -> int:
    """Time `pairs` runs of a small and a big no-op DAG and print the timings as JSON."""
    base = Path(tempfile.mkdtemp(prefix=f"{args.worker}-inprocess-", dir=args.workdir))
    try:
        shutil.copytree(args.configs, base / "configs")
        os.chdir(base)
        harness_class = TetherHarness if args.worker == "tether" else GluepyHarness
        harness = harness_class(base)
        if args.logging == "quiet":
            logging.getLogger(harness.framework_logger).setLevel(logging.WARNING)
        small = harness.make_dag(args.small, "small")
        big = harness.make_dag(args.big, "big")
        timings: dict[str, list[float]] = {"small": [], "big": []}
        with stderr_to_devnull():
            harness.run(harness.make_dag(args.small, "warmup"))
            for _ in range(args.pairs):
                for name, dag in (("small", small), ("big", big)):
                    started = time.perf_counter()
                    harness.run(dag)
                    timings[name].append(time.perf_counter() - started)
            if args.profile_out:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
                harness.run(big)
                profiler.disable()
                profiler.dump_stats(args.profile_out)
        print(json.dumps(timings))
        return 0
    finally:
        os.chdir(args.workdir)
        shutil.rmtree(base, ignore_errors=True)


