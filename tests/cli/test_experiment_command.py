"""`tether experiment NAME ...` and `tether experiment ls`, as a subprocess in a fresh project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.experiments.conftest import reproduce
from tests.reports.conftest import Page

PARAMS = """
from dataclasses import dataclass
from tether.experiments import ExperimentParameters

@dataclass
class Params(ExperimentParameters):
    n: int = 3

def get_params():
    return [Params(name="a", n=3), Params(name="b", n=5)]
"""

EXPERIMENT = """
import os
from tether.experiments import stage, aggregate, Record, PickleCacher, JsonCacher, DFReporter

@stage(outputs=["data"], cachers=[PickleCacher])
def load(record):
    if os.environ.get("FAIL_LOAD") == record.args.name:
        raise RuntimeError("load failed for " + record.args.name)
    return list(range(record.args.n))

@stage(inputs=["data"], outputs=["total"], cachers=[JsonCacher])
def total(record, data):
    return sum(data)

@aggregate(outputs=["all"], cachers=[JsonCacher])
def combine(record, records):
    return {r.args.name: r.state["total"] for r in records}

def run(param_sets, manager):
    records = [total(load(Record(manager, p))) for p in param_sets]
    combine(Record(manager, None), records)
"""


@pytest.fixture
def exp(project):
    project.write("params/base.py", PARAMS)
    project.write("experiments/demo.py", EXPERIMENT)
    return project


def _runs(project):
    result = project.run("experiment", "ls")
    assert result.code == 0, result.err
    return result.out


def test_run_then_cached_rerun_and_listing(exp):
    first = exp.run("experiment", "demo", "-p", "base")
    assert first.code == 0, first.err
    assert "demo_1_" in first.out and "5 ran" in first.out
    second = exp.run("experiment", "demo", "-p", "base")
    assert second.code == 0, second.err
    assert "demo_2_" in second.out and "1 cached, 4 skipped" in second.out
    listing = _runs(exp)
    assert "demo_1_" in listing and "demo_2_" in listing and "complete" in listing
    assert (exp.root / "reports" / "index.html").is_file()
    assert list((exp.root / "logs").glob("demo_2_*.log"))


def test_explain_says_why(exp):
    assert exp.run("experiment", "demo", "-p", "base").code == 0
    exp.write("experiments/demo.py", EXPERIMENT.replace("return sum(data)", "return sum(data) * 10"))
    result = exp.run("experiment", "demo", "-p", "base", "--explain")
    assert result.code == 0, result.err
    lines = [line.strip() for line in result.out.splitlines()]
    assert "load: cached: " in "\n".join(lines)
    assert "total: run: code changed" in lines
    assert "combine: run: input " in "\n".join(lines)
    hashes = exp.run("experiment", "demo", "-p", "base", "--hashes")
    assert hashes.code == 0 and len(hashes.out.split()) == 4


def test_a_failed_experiment_exits_1_with_one_line(exp):
    # Curifactory exited 0 after an exception in a stage.
    result = exp.run("experiment", "demo", "-p", "base", env={"FAIL_LOAD": "b"})
    assert result.code == 1
    assert result.err.strip().count("\n") == 0, result.err
    assert "in stage 'load': RuntimeError: load failed for b" in result.err
    assert "error" in _runs(exp)
    # The registry says why, and `tether runs show` shows it as for a failed DAG run.
    ref = exp.run("experiment", "ls").out.splitlines()[1].split()[0]
    shown = exp.run("runs", "show", ref)
    assert shown.code == 0, shown.err
    assert "error      load: RuntimeError: load failed for b" in shown.out
    assert "TASK" not in shown.out


def test_usage_errors_exit_2(exp):
    missing = exp.run("experiment", "nope", "-p", "base")
    assert missing.code == 2 and "no experiment 'nope'" in missing.err
    bad_params = exp.run("experiment", "demo", "-p", "nothere")
    assert bad_params.code == 2 and "no parameter file 'nothere'" in bad_params.err


def test_concurrent_experiments_get_distinct_run_numbers(exp):
    # Curifactory read-modify-wrote its store, so concurrent runs could take the same number.
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "experiment", "demo", "-p", "base", "--no-report"],
                         cwd=exp.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    listing = _runs(exp)
    numbers = sorted(int(n) for n in __import__("re").findall(r"demo_(\d+)_", listing))
    assert numbers == [1, 2, 3, 4]


def test_store_full_reproduces_from_the_folder_alone(exp, tmp_path):
    # Curifactory's full stores needed the original cache and parameter files.
    result = exp.run("experiment", "demo", "-p", "base", "--store-full")
    assert result.code == 0, result.err
    folder = next((exp.root / "data" / "experiments").iterdir())
    for name in ("requirements.txt", "environment.json", "params.json", "params.pkl", "run.log",
                 "run_info.json", "reproduce.sh", "report/index.html", "artifacts/cache_index.json"):
        assert (folder / name).exists(), name
    assert "Reproduce with: cd " in result.out
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    # Neither the project's cache nor the current values of its parameter files are used
    # (the parameter classes are the project's, which must be importable).
    shutil.rmtree(exp.root / "data" / "cache")
    exp.write("params/base.py", PARAMS.replace("n=3", "n=30").replace("n=5", "n=50"))
    reproduce(copy, exp.root, "configs.settings")
    assert not (exp.root / "data" / "cache").exists() or not any((exp.root / "data" / "cache").iterdir())
    info = json.loads((folder / "run_info.json").read_text())
    assert info["reproduce"].endswith("--dry-cache --prefix demo")


def _notes(project, *args: str, stdin: str) -> str | None:
    """Run the experiment with `args` and `stdin` piped in; return the notes its report shows."""
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "manage.py", "experiment", "demo", *args], cwd=project.root, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ref = done.stdout.split()[1]
    return Page((project.root / "reports" / ref / "index.html").read_text()).info.get("notes")


def test_notes_alone_read_a_piped_stdin_and_notes_text_still_works(exp):
    assert _notes(exp, "-p", "base", "--notes", stdin="Bigger sets\nto see the trend.\n") == (
        "Bigger sets\nto see the trend.")
    assert _notes(exp, "--notes", "-p", "base", stdin="before the other options\n") == "before the other options"
    assert _notes(exp, "-p", "base", "--notes", "given text", stdin="not read\n") == "given text"
    assert _notes(exp, "-p", "base", "--notes=", stdin="asked with an empty value\n") == "asked with an empty value"
    assert _notes(exp, "-p", "base", stdin="not asked\n") is None


def test_notebook_flag_writes_a_notebook_that_runs_from_its_folder(exp):
    import nbformat

    done = exp.run("experiment", "demo", "-p", "base", "--notebook")
    assert done.code == 0, done.err
    path = next(line.split(": ", 1)[1] for line in done.out.splitlines() if line.startswith("Notebook: "))
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    code += "\nprint(sorted(status for r in manager.records for status in r.stage_status.values()))\n"
    # No settings in the environment: the notebook names the project's (and finds the project itself).
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    ran = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(path), env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == str(["cached"] + ["skipped"] * 4)
