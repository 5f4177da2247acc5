#!/usr/bin/env python
"""Core benchmarks of tether against Gluepy 1.6.0.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_core.py [--quick] [--profile]

What is measured (each tool in its own venv, same DAG, medians, tools interleaved):

1. CLI start-up: `tether --help` (budget: at most 0.25 s wall) against `gluepy-cli --help`,
   and `python manage.py --help` inside a project made by each tool's startproject.
2. Import time: `python -c "import tether"` minus `python -c "pass"` (median of each, same
   venv; budget: at most 60 ms), the same for `import gluepy`; `python -X importtime`'s
   cumulative figure for the top package is reported beside it as a cross-check.
3. In-process overhead per no-op task: `run_dag` of a 2,000-task no-op DAG minus a 1-task
   DAG, divided by 1,999 (budget: at most 50 us for tether). Each tool's default LOGGING is
   applied as its CLI does and stderr (fd 2) goes to /dev/null while DAGs run; a second,
   informational figure sets the framework's logger to WARNING (a quiet big-DAG setup).
4. A CLI run of a 20-task no-op chain: `python manage.py dag bench20` in each project
   (budget: tether/gluepy wall-time ratio at most 1.0).

Results are printed as a table and written to bench/results/core.json. The exit status is
0 when every budget passes, 1 when a budget fails, 2 when a measurement could not be made.

The same file is the in-process worker (`--worker tether|gluepy`), run once per sample under
each tool's interpreter; the module imports only the standard library so that it can.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core_report import Row, git_revision, judged, print_table
from core_worker import worker_main

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "core.json"
SETUP_PEERS = BENCH_DIR / "setup_peers.sh"
GLUEPY_VENV = BENCH_DIR / ".venv-gluepy"
GLUEPY_VERSION = "1.6.0"

TOOLS = ("tether", "gluepy")
PROJECT_NAME = "benchproject"
MODULE_NAME = "benchmod"
CLI_DAG_LABEL = "bench20"
CLI_DAG_TASKS = 20
BIG_DAG_TASKS = 2000
SMALL_DAG_TASKS = 1

BUDGET_HELP_S = 0.25
BUDGET_IMPORT_S = 0.060
BUDGET_TASK_OVERHEAD_S = 50e-6
BUDGET_DAG20_RATIO = 1.0

LOGGING_MODES = {
    "stream": "default LOGGING applied as the CLI does (INFO lines per task), stderr -> /dev/null",
    "quiet": "default LOGGING, then the framework's logger set to WARNING (no per-task lines)",
}

# Variables that would point a child process at another project or interpreter.
_SCRUBBED_ENV = (
    "TETHER_SETTINGS_MODULE",
    "GLUEPY_SETTINGS_MODULE",
    "TETHER_TRACEBACK",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "VIRTUAL_ENV",
)


# --------------------------------------------------------------------------------------
# Tools and projects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """One framework under test: its interpreter, console script and the import to time."""

    name: str
    python: Path
    cli: Path
    package: str
    cli_package: str

    @property
    def bin_dir(self) -> Path:
        """The venv's bin folder."""
        return self.python.parent


def tether_tool() -> Tool:
    """tether, from the interpreter running this script (the project venv)."""
    python = Path(sys.executable)
    return Tool("tether", python, python.parent / "tether", "tether", "tether.cli")


def gluepy_tool() -> Tool:
    """Gluepy, from bench/.venv-gluepy (its console script is `gluepy-cli`)."""
    python = GLUEPY_VENV / "bin" / "python"
    return Tool("gluepy", python, python.parent / "gluepy-cli", "gluepy", "gluepy.commands")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child process: this one, minus project and path overrides."""
    env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED_ENV}
    env.update(extra or {})
    return env


class SetupError(RuntimeError):
    """A project or venv needed by the benchmark could not be made."""


def run_checked(argv: Sequence[str | Path], cwd: Path, what: str) -> str:
    """Run a set-up command; raise SetupError with its output if it fails."""
    proc = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=child_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SetupError(
            f"{what} failed (exit {proc.returncode}): {' '.join(map(str, argv))}\n"
            f"{proc.stdout}{proc.stderr}".rstrip()
        )
    return proc.stdout


def ensure_gluepy_venv() -> None:
    """Create bench/.venv-gluepy with setup_peers.sh unless it already holds Gluepy."""
    tool = gluepy_tool()
    if tool.python.exists() and tool.cli.exists():
        return
    print(f"{GLUEPY_VENV} is missing: running {SETUP_PEERS.name}", file=sys.stderr)
    run_checked(["bash", SETUP_PEERS], BENCH_DIR, "setup_peers.sh")


def tool_version(tool: Tool) -> str:
    """The version the tool reports about itself."""
    attribute = "__version__" if tool.name == "tether" else "VERSION"
    code = f"import {tool.package}; print({tool.package}.{attribute})"
    return run_checked([tool.python, "-c", code], REPO_DIR, f"{tool.name} version").strip()


def noop_module_sources(framework: str) -> dict[str, str]:
    """tasks.py and dags.py of a module holding CLI_DAG_TASKS no-op tasks chained in one DAG."""
    names = [f"Noop{index:02d}Task" for index in range(1, CLI_DAG_TASKS + 1)]
    tasks = [f'"""{CLI_DAG_TASKS} no-op tasks."""', "", f"from {framework}.exec import Task", ""]
    for name in names:
        tasks += ["", f"class {name}(Task):", "    def run(self):", "        pass", ""]
    dags = [
        f'"""A chain of the {CLI_DAG_TASKS} no-op tasks."""',
        "",
        f"from {framework}.exec import DAG",
        "",
        f"from .tasks import {', '.join(names)}",
        "",
        "",
        "class Bench20DAG(DAG):",
        f'    label = "{CLI_DAG_LABEL}"',
        "    tasks = [",
        *(f"        {name}," for name in names),
        "    ]",
        "",
    ]
    return {"tasks.py": "\n".join(tasks), "dags.py": "\n".join(dags)}


_INSTALLED_MODULES = re.compile(r"^INSTALLED_MODULES\s*=\s*\[(?P<body>[^\]]*)\]", re.MULTILINE)


def install_module_in_settings(settings_file: Path, module: str) -> None:
    """Add `module` to INSTALLED_MODULES (Gluepy's startmodule leaves that to the user)."""
    text = settings_file.read_text(encoding="utf-8")
    match = _INSTALLED_MODULES.search(text)
    if match is None:
        raise SetupError(f"no INSTALLED_MODULES list in {settings_file}")
    if re.search(rf"""["']{module}["']""", match.group("body")):
        return
    body = match.group("body").strip().rstrip(",")
    new_body = f"{body}, {module!r}" if body else repr(module)
    settings_file.write_text(
        text[: match.start("body")] + new_body + text[match.end("body"):], encoding="utf-8"
    )


@dataclass
class Project:
    """A project made by a tool's own startproject/startmodule, ready to benchmark."""

    tool: Tool
    root: Path
    pristine_configs: Path


def build_project(tool: Tool, parent: Path) -> Project:
    """Make PROJECT_NAME with the tool's startproject and MODULE_NAME with its startmodule.

    The module's tasks.py/dags.py are replaced by the 20-task no-op chain. A copy of the
    project's configs/ is taken before the module is installed, for the in-process worker.
    """
    parent.mkdir(parents=True)
    run_checked([tool.cli, "startproject", PROJECT_NAME], parent, f"{tool.name} startproject")
    root = parent / PROJECT_NAME
    pristine = parent / "pristine-configs"
    shutil.copytree(root / "configs", pristine)
    run_checked(
        [tool.python, "manage.py", "startmodule", MODULE_NAME], root, f"{tool.name} startmodule"
    )
    if tool.name == "gluepy":
        install_module_in_settings(root / "configs" / "settings.py", MODULE_NAME)
    for name, text in noop_module_sources(tool.name).items():
        (root / MODULE_NAME / name).write_text(text, encoding="utf-8")
    return Project(tool, root, pristine)


# --------------------------------------------------------------------------------------
# Subprocess measurements
# --------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One timed child process."""

    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def timed_run(argv: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run `argv` to completion; wall time by perf_counter, CPU time from the child's rusage."""
    args = [str(arg) for arg in argv]
    environment = env if env is not None else child_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Probe:
    """A command timed for each tool: what it runs and how its success is recognised."""

    key: str
    title: str
    argv: Callable[[Tool], list[str | Path]]
    cwd: Callable[[Project, Path], Path]
    ok: Callable[[Tool, Sample], bool] = lambda tool, sample: sample.returncode == 0


def _dag_succeeded(tool: Tool, sample: Sample) -> bool:
    if sample.returncode != 0:
        return False
    if tool.name == "tether":
        return "succeeded" in sample.stdout
    return f"Completed task 'Noop{CLI_DAG_TASKS:02d}Task'" in sample.stderr


def _in_project(project: Project, empty: Path) -> Path:
    return project.root


def _in_empty_dir(project: Project, empty: Path) -> Path:
    return empty


PROBES: tuple[Probe, ...] = (
    Probe("python_startup", "python -c pass", lambda t: [t.python, "-c", "pass"], _in_empty_dir),
    Probe(
        "importtime_startup", "python -X importtime -c pass",
        lambda t: [t.python, "-X", "importtime", "-c", "pass"], _in_empty_dir,
    ),
    Probe(
        "import_package", "python -c 'import <pkg>'",
        lambda t: [t.python, "-c", f"import {t.package}"], _in_empty_dir,
    ),
    Probe(
        "import_cli_package", "python -c 'import <pkg>.cli'",
        lambda t: [t.python, "-c", f"import {t.cli_package}"], _in_empty_dir,
    ),
    Probe(
        "importtime_package", "python -X importtime -c 'import <pkg>'",
        lambda t: [t.python, "-X", "importtime", "-c", f"import {t.package}"], _in_empty_dir,
    ),
    Probe("cli_help", "<console script> --help", lambda t: [t.cli, "--help"], _in_empty_dir),
    Probe(
        "manage_help", "python manage.py --help", lambda t: [t.python, "manage.py", "--help"],
        _in_project,
    ),
    Probe(
        "dag20", f"python manage.py dag {CLI_DAG_LABEL}",
        lambda t: [t.python, "manage.py", "dag", CLI_DAG_LABEL], _in_project, _dag_succeeded,
    ),
)


def _top_level_imports(stderr: str) -> Iterator[tuple[str, float]]:
    """(module, cumulative seconds) of the top-level imports that `-X importtime` reports."""
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        if name.startswith(" ") and not name.startswith("  "):
            yield name.strip(), int(parts[1]) / 1e6


def importtime_cumulative(stderr: str, package: str) -> float | None:
    """Cumulative seconds `-X importtime` reports for the top-level import of `package`."""
    for name, cumulative in _top_level_imports(stderr):
        if name == package:
            return cumulative
    return None


def editable_finder_cost(stderr: str) -> float:
    """Seconds spent at start-up importing editable-install finders (`__editable__*`, via site)."""
    found: list[tuple[int, float]] = []
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        if name.strip().startswith("__editable__"):
            found.append((len(name) - len(name.lstrip()), int(parts[1]) / 1e6))
    if not found:
        return 0.0
    outermost = min(depth for depth, _ in found)
    return sum(cumulative for depth, cumulative in found if depth == outermost)


@dataclass
class Series:
    """Samples of one probe for one tool."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    derived: list[float] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Medians and quartiles, with the raw samples."""
        out: dict[str, Any] = {"n": len(self.wall), "failures": self.failures}
        for name in ("wall", "cpu", "derived"):
            values = getattr(self, name)
            if values:
                out[name] = describe(values)
        return out


def describe(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles, min and max of `values`, with the values."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
        "samples": list(values),
    }


def failure_report(tool: Tool, probe: Probe, project: Project, empty: Path, sample: Sample) -> dict[str, Any]:
    """What a failed command printed, plus its traceback when the tool can show one."""
    report: dict[str, Any] = {
        "command": " ".join(str(a) for a in probe.argv(tool)),
        "cwd": str(probe.cwd(project, empty)),
        "returncode": sample.returncode,
        "stdout_tail": sample.stdout[-2000:],
        "stderr_tail": sample.stderr[-4000:],
    }
    if tool.name == "tether":
        again = timed_run(
            probe.argv(tool), probe.cwd(project, empty), child_env({"TETHER_TRACEBACK": "1"})
        )
        report["traceback_rerun_stderr_tail"] = again.stderr[-6000:]
    return report


def measure_cli(
    tools: Sequence[Tool], projects: dict[str, Project], empty: Path, repetitions: int
) -> dict[str, dict[str, Series]]:
    """Time every probe `repetitions` times per tool, after one untimed warm-up run.

    Within a repetition the probes run in turn and, for each probe, the tools alternate
    which goes first, so that drifts of the machine hit both tools alike.
    """
    results = {probe.key: {tool.name: Series() for tool in tools} for probe in PROBES}
    for probe in PROBES:
        for tool in tools:
            timed_run(probe.argv(tool), probe.cwd(projects[tool.name], empty))
    for repetition in range(repetitions):
        order = list(tools) if repetition % 2 == 0 else list(reversed(tools))
        for probe in PROBES:
            for tool in order:
                project = projects[tool.name]
                sample = timed_run(probe.argv(tool), probe.cwd(project, empty))
                series = results[probe.key][tool.name]
                if not probe.ok(tool, sample):
                    if len(series.failures) < 2:
                        series.failures.append(failure_report(tool, probe, project, empty, sample))
                    continue
                series.wall.append(sample.wall)
                series.cpu.append(sample.cpu)
                if probe.key == "importtime_startup":
                    series.derived.append(editable_finder_cost(sample.stderr))
                if probe.key == "importtime_package":
                    cumulative = importtime_cumulative(sample.stderr, tool.package)
                    if cumulative is not None:
                        series.derived.append(cumulative)
        print(f"  cli repetition {repetition + 1}/{repetitions} done", file=sys.stderr)
    return results


def run_worker(
    tool: Tool, project: Project, workdir: Path, logging_mode: str, pairs: int,
    profile: Path | None = None,
) -> dict[str, list[float]]:
    """Run the in-process worker under `tool`'s interpreter and return its timings."""
    argv: list[str | Path] = [
        tool.python, Path(__file__).resolve(), "--worker", tool.name,
        "--configs", project.pristine_configs, "--workdir", workdir,
        "--logging", logging_mode, "--pairs", str(pairs),
        "--small", str(SMALL_DAG_TASKS), "--big", str(BIG_DAG_TASKS),
    ]
    if profile is not None:
        argv += ["--profile-out", profile]
    sample = timed_run(argv, workdir)
    if sample.returncode != 0:
        raise RuntimeError(
            f"in-process worker for {tool.name} failed (exit {sample.returncode}):\n"
            f"{sample.stderr[-6000:]}"
        )
    return json.loads(sample.stdout.strip().splitlines()[-1])


def file_create_cost(parent: Path, files: int = BIG_DAG_TASKS) -> float:
    """Seconds to create a small file, write a line to it and close it (as a task log is made).

    A reference for the disk under the temporary projects: run bookkeeping that writes a file
    per task costs at least this much per task there.
    """
    folder = Path(tempfile.mkdtemp(prefix="fs-reference-", dir=parent))
    try:
        started = time.perf_counter()
        for index in range(files):
            with open(folder / f"t{index:05d}.log", "a", encoding="utf-8", buffering=1) as handle:
                handle.write("INFO reference line\n")
        return (time.perf_counter() - started) / files
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_inprocess(
    tools: Sequence[Tool], projects: dict[str, Project], workdir: Path, samples: int, pairs: int
) -> dict[str, dict[str, Any]]:
    """Per-task overhead for each logging mode and tool, over `samples` worker processes."""
    results: dict[str, dict[str, Any]] = {}
    reference: list[float] = []
    for mode in LOGGING_MODES:
        per_tool: dict[str, dict[str, Any]] = {
            tool.name: {"small": [], "big": [], "per_task": [], "error": None} for tool in tools
        }
        for index in range(samples):
            order = list(tools) if index % 2 == 0 else list(reversed(tools))
            for tool in order:
                entry = per_tool[tool.name]
                if entry["error"]:
                    continue
                try:
                    timings = run_worker(tool, projects[tool.name], workdir, mode, pairs)
                except (RuntimeError, ValueError) as exc:
                    entry["error"] = str(exc)
                    continue
                entry["small"] += timings["small"]
                entry["big"] += timings["big"]
                entry["per_task"] += [
                    (big - small) / (BIG_DAG_TASKS - SMALL_DAG_TASKS)
                    for small, big in zip(timings["small"], timings["big"])
                ]
            reference.append(file_create_cost(workdir))
            print(f"  in-process ({mode}) sample {index + 1}/{samples} done", file=sys.stderr)
        results[mode] = {
            name: {
                "error": entry["error"],
                **({
                    "small_dag_s": describe(entry["small"]),
                    "big_dag_s": describe(entry["big"]),
                    "per_task_s": describe(entry["per_task"]),
                } if entry["per_task"] else {}),
            }
            for name, entry in per_tool.items()
        }
    results["file_create_reference"] = {"seconds_per_file": describe(reference)}
    return results


def profile_tether(project: Project, workdir: Path, top: int) -> list[dict[str, Any]]:
    """cProfile one 2,000-task tether run (stream logging); the top functions by own time."""
    import pstats

    stats_file = workdir / "tether-2000.prof"
    run_worker(tether_tool(), project, workdir, "stream", 1, profile=stats_file)
    stats = pstats.Stats(str(stats_file))
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({
            "function": f"{_short_path(filename)}:{line}({function})",
            "calls": calls,
            "own_us_per_task": own / BIG_DAG_TASKS * 1e6,
            "cumulative_us_per_task": cumulative / BIG_DAG_TASKS * 1e6,
        })
    rows.sort(key=lambda row: row["own_us_per_task"], reverse=True)
    return rows[:top]


def _short_path(filename: str) -> str:
    for marker in ("/site-packages/", "/lib/python3", str(REPO_DIR) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def median_of(results: dict[str, dict[str, Series]], key: str, tool: str, kind: str = "wall") -> float | None:
    """The median of one series, or None if it has no samples."""
    values = getattr(results[key][tool], kind)
    return statistics.median(values) if values else None


def build_rows(
    cli: dict[str, dict[str, Series]] | None, inprocess: dict[str, dict[str, Any]] | None
) -> list[Row]:
    """The table: every measured figure, with the budgeted ones judged (None: not measured)."""
    skipped_cli = cli is None
    cli = cli or {probe.key: {tool: Series() for tool in TOOLS} for probe in PROBES}

    def pair(key: str, kind: str = "wall") -> tuple[float | None, float | None]:
        return median_of(cli, key, "tether", kind), median_of(cli, key, "gluepy", kind)

    def import_delta(key: str) -> tuple[float | None, float | None]:
        deltas = []
        for tool in TOOLS:
            value, baseline = median_of(cli, key, tool), median_of(cli, "python_startup", tool)
            deltas.append(None if value is None or baseline is None else value - baseline)
        return deltas[0], deltas[1]

    rows = [
        Row("python -c pass (baseline)", *pair("python_startup"), "ms"),
        Row("  of which editable-install finder (-X importtime)", *pair("importtime_startup", "derived"), "ms"),
        judged(Row("import <pkg> (minus baseline)", *import_delta("import_package"), "ms"), BUDGET_IMPORT_S,
               skipped=skipped_cli),
        Row("  -X importtime cumulative", *pair("importtime_package", "derived"), "ms"),
        Row("import tether.cli / gluepy.commands (minus baseline)", *import_delta("import_cli_package"), "ms"),
        judged(Row("tether --help / gluepy-cli --help (wall)", *pair("cli_help"), "ms"), BUDGET_HELP_S,
               skipped=skipped_cli),
        Row("  same, CPU", *pair("cli_help", "cpu"), "ms"),
        Row("python manage.py --help (wall)", *pair("manage_help"), "ms"),
        Row("  same, CPU", *pair("manage_help", "cpu"), "ms"),
        judged(
            Row(f"manage.py dag {CLI_DAG_LABEL}, {CLI_DAG_TASKS} no-op tasks (wall)", *pair("dag20"), "ms"),
            BUDGET_DAG20_RATIO, on_ratio=True, skipped=skipped_cli,
        ),
        Row("  same, CPU", *pair("dag20", "cpu"), "ms"),
    ]
    for mode in LOGGING_MODES:
        values = []
        for tool in TOOLS:
            entry = (inprocess or {}).get(mode, {}).get(tool, {})
            values.append(entry["per_task_s"]["median"] if "per_task_s" in entry else None)
        row = Row(f"in-process overhead per no-op task [{mode}]", values[0], values[1], "us")
        if mode == "stream":
            row = judged(row, BUDGET_TASK_OVERHEAD_S, skipped=inprocess is None)
        rows.append(row)
    return rows


def method_notes(repetitions: int, samples: int, pairs: int) -> dict[str, str]:
    """How each figure was obtained, printed with the table and stored in the JSON."""
    return {
        "timing": "wall time with time.perf_counter around subprocess.run; CPU = user+sys of the "
                  "child from getrusage(RUSAGE_CHILDREN); medians; one untimed warm-up run per "
                  f"command; {repetitions} repetitions, tools alternating which runs first; bytecode "
                  "cached under a temporary PYTHONPYCACHEPREFIX (warm, and no __pycache__ in the tree)",
        "import": "median of `python -c 'import <pkg>'` minus median of `python -c pass`, both "
                  "with the tool's own venv interpreter, run from an empty folder; `-X importtime` "
                  "cumulative microseconds of the top-level package shown as a cross-check",
        "cli_help": "`tether --help` (console script) and `gluepy-cli --help` from an empty folder "
                    "(no project found); `python manage.py --help` inside each generated project",
        "dag20": f"`python manage.py dag {CLI_DAG_LABEL}` in a project made by each tool's "
                 f"startproject + startmodule, the module holding {CLI_DAG_TASKS} no-op tasks in one "
                 "chain; default settings and LOGGING of each generated project; output captured "
                 "through pipes",
        "inprocess": f"(run_dag of a {BIG_DAG_TASKS}-task no-op DAG - run_dag of a {SMALL_DAG_TASKS}-task "
                     f"DAG) / {BIG_DAG_TASKS - SMALL_DAG_TASKS}, in a fresh worker process per sample "
                     f"({samples} samples x {pairs} pairs, after a warm-up run); DAG classes built "
                     "with type(); tether: settings.configure(BASE_DIR=tmp, INSTALLED_MODULES=[]) then "
                     "settings.configure_logging() as `tether dag` does, tether.exec.runner.run_dag"
                     "(DagClass); gluepy: its generated configs/settings.py, gluepy.exec.boot.bootstrap(), "
                     "gluepy.commands.dag.run_dag(label). Logging modes: "
                     + "; ".join(f"{k}: {v}" for k, v in LOGGING_MODES.items()),
    }


def main_bench(args: argparse.Namespace) -> int:
    """Set up both projects, measure, print the table and write the JSON results."""
    repetitions = args.repetitions or (5 if args.quick else 15)
    samples = args.samples or (2 if args.quick else 5)
    pairs = 1 if args.quick else 2
    ensure_gluepy_venv()
    workdir = Path(tempfile.mkdtemp(prefix="tether-bench-"))
    os.environ["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    load_before = os.getloadavg()
    try:
        tools = [tether_tool(), gluepy_tool()]
        versions = {tool.name: tool_version(tool) for tool in tools}
        if versions["gluepy"] != GLUEPY_VERSION:
            raise SetupError(f"{GLUEPY_VENV} holds gluepy {versions['gluepy']}, expected {GLUEPY_VERSION}")
        empty = workdir / "empty"
        empty.mkdir()
        print(f"building projects in {workdir}", file=sys.stderr)
        projects = {tool.name: build_project(tool, workdir / tool.name) for tool in tools}
        cli: dict[str, dict[str, Series]] | None = None
        if not args.skip_cli:
            print(f"timing CLI commands ({repetitions} repetitions)", file=sys.stderr)
            cli = measure_cli(tools, projects, empty, repetitions)
        inprocess = None
        if not args.skip_inprocess:
            print(f"timing in-process runs ({samples} samples x {pairs} pairs per tool and mode)", file=sys.stderr)
            inprocess = measure_inprocess(tools, projects, workdir, samples, pairs)
        profile = profile_tether(projects["tether"], workdir, args.profile_top) if args.profile else None
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    load_after = os.getloadavg()
    rows = build_rows(cli, inprocess)
    notes = method_notes(repetitions, samples, pairs)
    print()
    print(f"tether {versions['tether']} vs gluepy {versions['gluepy']}  |  Python {platform.python_version()}"
          f"  |  {platform.machine()}, {os.cpu_count()} CPUs  |  load average {load_before[0]:.2f} before,"
          f" {load_after[0]:.2f} after")
    print()
    print_table(rows)
    if inprocess is not None:
        reference = inprocess["file_create_reference"]["seconds_per_file"]["median"]
        print(f"reference: creating, writing a line to and closing one small file in {workdir.parent}"
              f" takes {reference * 1e6:.1f} us here (median)")
    print()
    print("Method:")
    for key, text in notes.items():
        print(f"  {key}: {text}")
    errors = []
    for key, by_tool in (cli or {}).items():
        for tool_name, series in by_tool.items():
            for failure in series.failures:
                errors.append({"probe": key, "tool": tool_name, **failure})
    if inprocess is not None:
        for mode, by_tool in inprocess.items():
            for tool_name, entry in by_tool.items():
                if entry.get("error"):
                    errors.append({"probe": f"inprocess:{mode}", "tool": tool_name, "error": entry["error"]})
    if errors:
        print()
        print("Errors:")
        for error in errors:
            print(f"  [{error['tool']}] {error['probe']}: " + json.dumps(error, indent=2)[:4000])
    if profile:
        print()
        print(f"cProfile of one tether run of {BIG_DAG_TASKS} no-op tasks (stream logging), top by own time:")
        print(f"  {'own us/task':>11}  {'cum us/task':>11}  {'calls':>7}  function")
        for row in profile:
            print(f"  {row['own_us_per_task']:11.2f}  {row['cumulative_us_per_task']:11.2f}  {row['calls']:7d}  {row['function']}")

    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "core",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "quick": bool(args.quick),
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
        "versions": versions,
        "tether_git": git_revision(),
        "method": notes,
        "table": [{**asdict(row), "ratio": row.ratio} for row in rows],
        "budgets": [
            {"measure": row.measure, "budget": row.budget, "status": row.status,
             "tether": row.tether, "gluepy": row.gluepy, "ratio": row.ratio}
            for row in rows if row.budget
        ],
        "cli": {key: {tool: series.summary() for tool, series in by_tool.items()} for key, by_tool in (cli or {}).items()},
        "inprocess": inprocess,
        "profile_tether_2000": profile,
        "errors": errors,
    }
    RESULTS_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print()
    print(f"results written to {RESULTS_FILE.relative_to(REPO_DIR)}")
    statuses = {row.status for row in rows if row.budget}
    if "ERROR" in statuses or errors:
        return 2
    return 1 if "FAIL" in statuses else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark and of its worker mode."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (5 CLI, 2 in-process samples)")
    parser.add_argument("--repetitions", type=int, help="CLI repetitions per command and tool (default 15)")
    parser.add_argument("--samples", type=int, help="in-process worker processes per tool and mode (default 5)")
    parser.add_argument("--skip-cli", action="store_true", help="only the in-process measurements")
    parser.add_argument("--skip-inprocess", action="store_true", help="only the CLI measurements")
    parser.add_argument("--profile", action="store_true", help=f"also cProfile one {BIG_DAG_TASKS}-task tether run")
    parser.add_argument("--profile-top", type=int, default=20, help="functions to list with --profile")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    worker = parser.add_argument_group("worker mode (internal)")
    worker.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    worker.add_argument("--configs", type=Path, help=argparse.SUPPRESS)
    worker.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    worker.add_argument("--logging", choices=tuple(LOGGING_MODES), default="stream", help=argparse.SUPPRESS)
    worker.add_argument("--pairs", type=int, default=2, help=argparse.SUPPRESS)
    worker.add_argument("--small", type=int, default=SMALL_DAG_TASKS, help=argparse.SUPPRESS)
    worker.add_argument("--big", type=int, default=BIG_DAG_TASKS, help=argparse.SUPPRESS)
    worker.add_argument("--profile-out", dest="profile_out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the benchmark, or the in-process worker with --worker."""
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    try:
        return main_bench(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
