"""`tether report RUN` for DAG runs: the page, its graph, logs, metrics and the runs index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.reports.conftest import Page

pytestmark = pytest.mark.slow


def run_dag(project, **env: str) -> dict:
    result = project.run("dag", "forecast", env=env)
    return project.runs()[-1] | {"_result": result}


def report(project, run_id: str) -> tuple[Path, Page]:
    result = project.tether("report", run_id[:8])
    assert result.code == 0, result.err
    page_path = Path(result.out.strip())
    assert page_path == project.root / "reports" / run_id / "index.html"
    return page_path, Page(page_path.read_text())


def test_the_report_shows_the_run_its_graph_logs_metrics_and_context(dag_project):
    dag_project.write("configs/secrets.yaml", "service:\n  api_token: s3cret-value\n  note: <b>bold</b>\n")
    run = run_dag(dag_project)
    assert run["_result"].code == 0, run["_result"].err
    path, page = report(dag_project, run["run_id"])
    html = path.read_text()

    assert page.info["run_id"] == run["run_id"]
    assert page.info["dag"] == "forecast"
    assert page.info["status"] == "success"
    assert page.info["command"].endswith("dag forecast")
    assert "--patch" in page.info["reproduce"]

    nodes = {attrs["data-id"]: attrs["class"] for attrs in page.all("g") if attrs.get("data-id")}
    assert {"t:load", "t:clean", "t:features", "t:train"} <= set(nodes)
    assert all("success" in nodes[f"t:{label}"].split() for label in ("load", "clean", "features", "train"))
    bundles = [node for node, kind in nodes.items() if "bundle" in kind.split()]
    assert len(bundles) == 2  # load and clean wrote files; features and train did not
    edges = {(e["data-source"], e["data-target"]) for e in page.all("path", klass="edge")}
    # The edges are the DAG's requires, not the run order.
    assert {("t:load", "t:clean"), ("t:load", "t:features"), ("t:clean", "t:train"),
            ("t:features", "t:train")} <= edges
    assert ("t:clean", "t:features") not in edges

    log_links = [a["href"] for a in page.all("a") if (a.get("href") or "").startswith("logs/")]
    assert sorted(log_links) == sorted(f"logs/{t}.log" for t in ("load", "clean", "features", "train"))
    assert "loading <raw> data" in (path.parent / "logs" / "load.log").read_text()

    assert page.all("tr", data_metric="rows")
    assert "&lt;gbm&gt;" in html and "<gbm>" not in html
    assert "s3cret-value" not in html and "api_token" in html
    assert "note: &lt;b&gt;bold&lt;/b&gt;" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "a report must not load anything from the network"


def test_a_failed_run_shows_the_error_and_the_failed_task(dag_project):
    run = run_dag(dag_project, TRAIN_FAILS="1")
    assert run["_result"].code == 1
    path, page = report(dag_project, run["run_id"])
    assert page.info["status"] == "failed"
    assert "train: RuntimeError: diverged <badly>" in page.info["error"]
    train = next(a for a in page.all("g") if a.get("data-id") == "t:train")
    assert "failed" in train["class"].split()
    assert "diverged <badly>" not in path.read_text()


def test_without_the_dag_class_tasks_are_chained_in_run_order(dag_project):
    run = run_dag(dag_project)
    dag_project.write("forecast/dags.py", "")
    _, page = report(dag_project, run["run_id"])
    edges = {(e["data-source"], e["data-target"]) for e in page.all("path", klass="edge")}
    order = json.loads((dag_project.run_folder(run) / "run.json").read_text())["plan"]
    assert {(f"t:{a}", f"t:{b}") for a, b in zip(order, order[1:])} <= edges
    assert len([e for e in edges if e[1].startswith("t:")]) == len(order) - 1


def test_the_index_lists_every_reported_run_newest_first(dag_project):
    first = run_dag(dag_project)
    second = run_dag(dag_project)
    unreported = run_dag(dag_project)
    report(dag_project, first["run_id"])
    report(dag_project, second["run_id"])
    index = Page((dag_project.root / "reports" / "index.html").read_text())
    rows = [attrs["data-run"] for attrs in index.all("tr") if attrs.get("data-run")]
    assert rows == [second["run_id"], first["run_id"]]
    assert unreported["run_id"] not in rows
    links = [a["href"] for a in index.all("a")]
    assert f"{first['run_id']}/index.html" in links


def test_reporting_again_replaces_the_report(dag_project):
    run = run_dag(dag_project)
    path, _ = report(dag_project, run["run_id"])
    stale = path.parent / "stale.txt"
    stale.write_text("left over")
    path2, _ = report(dag_project, run["run_id"])
    assert path2 == path and not stale.exists()
    leftovers = [p.name for p in (dag_project.root / "reports").iterdir() if p.name.startswith(".")]
    assert leftovers == []
