"""`tether report RUN`: DAG runs, experiment reference names, unknown ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.conftest import DAGS, TASKS, Page

pytestmark = pytest.mark.slow

EXPERIMENT = """
from tether.experiments import JsonReporter, PickleCacher, Record, stage


@stage([], ["numbers"], [PickleCacher])
def make(record):
    record.report(JsonReporter({"size": record.args.size}, name="size"))
    return list(range(record.args.size))


def run(param_sets, manager):
    for params in param_sets:
        make(Record(manager, params))
"""

PARAMS = """
from dataclasses import dataclass

from tether.experiments import ExperimentParameters


@dataclass
class Params(ExperimentParameters):
    size: int = 1


def get_params():
    return [Params(name="small", size=2), Params(name="large", size=5)]
"""


@pytest.fixture
def experiment_project(project):
    project.write("experiments/__init__.py", "")
    project.write("experiments/counting.py", EXPERIMENT)
    project.write("params/__init__.py", "")
    project.write("params/sizes.py", PARAMS)
    return project


def test_report_of_a_dag_run_prints_the_page(project):
    project.add_module("forecast", tasks=TASKS, dags=DAGS)
    assert project.run("dag", "forecast").code == 0
    run_id = project.runs()[-1]["run_id"]
    result = project.tether("report", run_id)
    assert result.code == 0, result.err
    assert Path(result.out.strip()) == project.root / "reports" / run_id / "index.html"
    assert Page(Path(result.out.strip()).read_text()).info["run_id"] == run_id


def test_report_of_an_experiment_refreshes_the_index_and_prints_the_page(experiment_project):
    result = experiment_project.run("experiment", "counting", "-p", "sizes")
    assert result.code == 0, result.err
    reports = experiment_project.root / "reports"
    [ref] = [p.name for p in reports.iterdir() if p.name.startswith("counting_")]
    page = Page((reports / ref / "index.html").read_text())
    assert page.info["reference"] == ref and page.info["status"] == "complete"
    assert len(page.all("div", klass="reportable")) == 2
    index = reports / "index.html"
    index.unlink()
    result = experiment_project.tether("report", ref)
    assert result.code == 0, result.err
    assert result.out.strip() == str(reports / ref / "index.html")
    rows = Page(index.read_text()).all("tr", data_run=ref)
    assert len(rows) == 1


def test_an_experiment_without_a_report_is_a_one_line_error(experiment_project):
    result = experiment_project.run("experiment", "counting", "-p", "sizes", "--no-report")
    assert result.code == 0, result.err
    ref = experiment_project.run("experiment", "ls").out.split()
    ref = next(word for word in ref if word.startswith("counting_"))
    result = experiment_project.tether("report", ref)
    assert result.code == 2
    assert "no report" in result.err and "--no-report" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_an_unknown_run_is_a_one_line_error(project):
    result = project.tether("report", "no-such-run")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "Error: no run 'no-such-run' is recorded; give a DAG run id (`tether runs ls`) or an"
        " experiment reference name (`tether experiment ls`)"
    ]


def test_help_lists_the_report_command(project):
    result = project.tether("--help")
    assert "report" in result.out and "Write the HTML report of a run." in result.out


def test_a_full_store_is_linked_from_the_report_and_holds_a_copy_of_it(experiment_project):
    result = experiment_project.run("experiment", "counting", "-p", "sizes", "--store-full")
    assert result.code == 0, result.err
    reports = experiment_project.root / "reports"
    [ref] = [p.name for p in reports.iterdir() if p.name.startswith("counting_")]
    folder = reports / ref
    page = Page((folder / "index.html").read_text())
    store = page.all("a", klass="link-store-full-folder")[0]["href"]
    assert (folder / store).resolve() == (experiment_project.root / "data" / "experiments" / ref).resolve()
    log = page.all("a", klass="link-log")[0]["href"]
    assert (folder / log).is_file()
    # The copy's links go to the folder's own log and to the folder.
    copy = experiment_project.root / "data" / "experiments" / ref / "report"
    page = Page((copy / "index.html").read_text())
    log = page.all("a", klass="link-log")[0]["href"]
    assert (copy / log).resolve() == (copy.parent / "run.log").resolve()
    store = page.all("a", klass="link-store-full-folder")[0]["href"]
    assert (copy / store).resolve() == copy.parent.resolve()


def test_a_report_folder_the_catalog_forgot_is_still_indexed(experiment_project):
    assert experiment_project.run("experiment", "counting", "-p", "sizes").code == 0
    reports = experiment_project.root / "reports"
    [ref] = [p.name for p in reports.iterdir() if p.name.startswith("counting_")]
    (experiment_project.root / ".tether" / "catalog.sqlite3").unlink()
    (reports / "index.html").unlink()
    result = experiment_project.tether("report", ref)
    assert result.code == 0, result.err
    assert Page((reports / "index.html").read_text()).all("a", href=f"{ref}/index.html")


def test_four_experiments_at_once_each_get_a_whole_report(experiment_project):
    import subprocess
    import sys

    commands = [
        subprocess.Popen([sys.executable, "manage.py", "experiment", "counting", "-p", "sizes"],
                         cwd=experiment_project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for command in commands:
        _, err = command.communicate(timeout=120)
        assert command.returncode == 0, err
    reports = experiment_project.root / "reports"
    refs = sorted(p.name for p in reports.iterdir() if p.name.startswith("counting_"))
    assert len(refs) == 4
    for ref in refs:
        assert Page((reports / ref / "index.html").read_text()).info["reference"] == ref
    listed = [a["data-run"] for a in Page((reports / "index.html").read_text()).all("tr") if a.get("data-run")]
    assert len(listed) >= 1
    assert Page((reports / "_latest" / "index.html").read_text()).info["reference"] in refs
    assert [p.name for p in reports.iterdir() if p.name.startswith(".")] == []
