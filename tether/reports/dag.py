"""The report of a DAG run: `REPORTS_PATH/<run_id>/index.html`, from the catalog and the run folder.

The page shows the run's information, its context (secrets masked), the task
graph with each task's status and the bundles it produced, task timings with
links to copies of the task logs, and the run's metrics and parameters. The
task edges come from the DAG class when the project still defines it; otherwise
the tasks are chained in run order.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from tether.catalog import RunEntry, default_catalog
from tether.conf import settings
from tether.exceptions import TetherError
from tether.experiments.report_index import replace_folder, write_runs_index
from tether.experiments.report_pages import render_page
from tether.experiments.reporting import ReportError, safe_name
from tether.utils.svg_graph import Graph, render_svg

__all__ = ["reports_path", "write_run_report", "task_graph"]

logger = logging.getLogger("tether.reports")

TEMPLATES = str(Path(__file__).with_name("templates"))


def reports_path() -> Path:
    """The reports folder: `REPORTS_PATH`, or `BASE_DIR/reports`."""
    configured = settings.REPORTS_PATH
    if configured:
        return Path(configured)
    if not settings.BASE_DIR:
        raise ReportError("REPORTS_PATH and BASE_DIR are both unset; set REPORTS_PATH in the settings")
    return Path(settings.BASE_DIR) / "reports"


def _upstream(dag: str, labels: list[str]) -> dict[str, set[str]] | None:
    """Task label -> upstream labels, from the DAG class, or None when it cannot be found."""
    try:
        from tether.exec.registry import get_registry

        dag_class = get_registry().get(dag)
    except TetherError as exc:
        logger.info("Tasks of %s are drawn in run order: %s", dag, exc)
        return None
    known = set(labels)
    plan = dag_class.plan()
    return {label: set(plan.upstream.get(label, ())) & known for label in labels}


def task_graph(entry: RunEntry, bundles: Sequence[Any] = ()) -> Graph:
    """The run's tasks (and the bundles each produced) as a top-to-bottom `Graph`."""
    graph = Graph(direction="TB")
    plan = list(entry.record.get("plan") or [])
    labels = plan + [label for label in entry.tasks if label not in plan]
    for label in labels:
        task = entry.tasks.get(label)
        status = task.status if task else "pending"
        duration = f" {task.duration:.3f}s" if task and task.duration is not None else ""
        graph.add_node(
            f"t:{label}", label, kind=f"task {status}", detail=f"{status}{duration}",
            title=f"{label}\n{status}{duration}" + (f"\n{task.error}" if task and task.error else ""),
        )
    upstream = _upstream(entry.dag, labels)
    if upstream is None:
        for before, after in zip(labels, labels[1:]):
            graph.add_edge(f"t:{before}", f"t:{after}")
    else:
        for label in labels:
            for needed in sorted(upstream.get(label, ()), key=labels.index):
                graph.add_edge(f"t:{needed}", f"t:{label}")
    for bundle in bundles:
        task = bundle.tags.get("task")
        if f"t:{task}" not in graph.nodes:
            continue
        node = f"b:{bundle.uuid}"
        graph.add_node(
            node, bundle.name, kind="artifact bundle", detail=bundle.uuid[:12],
            title=f"bundle {bundle.name}\n{bundle.uuid}\ncontext {bundle.context}",
        )
        graph.add_edge(f"t:{task}", node)
    return graph


def _info_html(entry: RunEntry) -> str:
    record = entry.record
    environment = record.get("environment") or {}
    rows = [
        ("run_id", "Run", entry.run_id),
        ("dag", "DAG", entry.dag),
        ("status", "Status", entry.status),
    ]
    if record.get("error"):
        failed = record.get("failed_task")
        rows.append(("error", "Error", f"{failed}: {record['error']}" if failed else str(record["error"])))
    rows += [
        ("run_folder", "Run folder", entry.run_folder),
        ("started", "Started (UTC)", entry.started_at or ""),
        ("finished", "Finished (UTC)", entry.finished_at or ""),
        ("duration", "Duration", f"{entry.duration:.3f}s" if entry.duration is not None else ""),
        ("git_commit", "Git commit", entry.git_commit or "not a git checkout"),
        ("git_dirty", "Uncommitted changes", "unknown" if entry.git_dirty is None else ("yes" if entry.git_dirty else "no")),
        ("host", "Host", entry.host or ""),
        ("python", "Python", str(environment.get("python") or "")),
        ("platform", "Platform", str(environment.get("platform") or "")),
        ("command", "Command", entry.command or ""),
        ("reproduce", "Reproduce with", str(record.get("reproduce") or "")),
    ]
    if record.get("resume"):
        rows.append(("resume", "Resume with", str(record["resume"])))
    body = "".join(
        f'<tr data-key="{key}"><th>{escape(label)}</th><td>'
        + (f"<code>{escape(value)}</code>" if key in ("command", "reproduce", "resume") else escape(value))
        + "</td></tr>"
        for key, label, value in rows
    )
    return f'<table class="info">{body}</table>'


def _tasks_html(entry: RunEntry, logs: dict[str, str]) -> str:
    rows = []
    for label, task in entry.tasks.items():
        log = logs.get(label)
        link = f'<a href="{escape(log)}">log</a>' if log else ""
        duration = f"{task.duration:.3f}s" if task.duration is not None else ""
        rows.append(
            f'<tr data-task="{escape(label)}"><td>{escape(label)}</td><td class="{escape(task.status)}">'
            f"{escape(task.status)}</td><td>{task.attempts}</td><td>{duration}</td>"
            f"<td>{escape(task.started_at or '')}</td><td>{link}</td><td class=\"error\">{escape(task.error or '')}</td></tr>"
        )
    if not rows:
        return '<p class="note">No task ran.</p>'
    return (
        '<table class="tasks"><thead><tr><th>task</th><th>status</th><th>attempts</th><th>duration</th>'
        f"<th>started (UTC)</th><th>log</th><th>error</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _metrics_html(run_id: str) -> tuple[str, str]:
    metrics = default_catalog.get_metrics(run_id)
    params = default_catalog.get_params(run_id)
    latest: dict[str, tuple[float, int]] = {}
    for metric in metrics:
        _, count = latest.get(metric.key, (0.0, 0))
        latest[metric.key] = (metric.value, count + 1)
    metric_rows = "".join(
        f'<tr data-metric="{escape(key)}"><th>{escape(key)}</th><td>{value:g}</td><td>{count}</td></tr>'
        for key, (value, count) in latest.items()
    )
    param_rows = "".join(
        f'<tr data-param="{escape(str(key))}"><th>{escape(str(key))}</th><td><code>{escape(str(value))}</code></td></tr>'
        for key, value in params.items()
    )
    metrics_html = (
        f'<table class="metrics"><thead><tr><th>metric</th><th>last value</th><th>values</th></tr></thead>'
        f"<tbody>{metric_rows}</tbody></table>" if metric_rows else '<p class="note">No metrics were logged.</p>'
    )
    params_html = (
        f'<table class="params"><tbody>{param_rows}</tbody></table>' if param_rows
        else '<p class="note">No parameters were logged.</p>'
    )
    return metrics_html, params_html


def _context_text(storage: Any, folder: str) -> str:
    import yaml

    from tether.conf.context import mask_secrets

    path = f"{folder.strip('/')}/context.yaml"
    if not folder or not storage.isfile(path):
        return ""
    try:
        data = yaml.safe_load(storage.read(path, "r"))
    except yaml.YAMLError:
        return str(storage.read(path, "r"))
    return yaml.safe_dump(mask_secrets(data, settings.SECRET_KEYS), sort_keys=False, default_flow_style=False)


def _copy_logs(storage: Any, entry: RunEntry, target: Path) -> dict[str, str]:
    """Copy each task's log into the report (so it opens from disk); label -> relative link."""
    links: dict[str, str] = {}
    folder = entry.run_folder.strip("/")
    if not folder:
        return links
    for label in entry.tasks:
        source = f"{folder}/logs/{label}.log"
        if not storage.isfile(source):
            continue
        name = f"{safe_name(label)}.log"
        (target / "logs").mkdir(exist_ok=True)
        (target / "logs" / name).write_bytes(storage.read(source))
        links[label] = f"logs/{name}"
    return links


def write_run_report(run_id: str) -> Path:
    """Write `REPORTS_PATH/<run_id>/index.html` for the DAG run `run_id` (an id, prefix or folder).

    Also rewrites `REPORTS_PATH/index.html`. Returns the report folder.

    Raises:
        RunNotFoundError: no recorded run matches `run_id`.
        ReportError: the run is an experiment run (its report is written when it runs).
    """
    from tether.files.storages import default_storage

    entry = default_catalog.get_run(run_id)
    if entry.kind != "dag":
        raise ReportError(
            f"{entry.run_id} is an experiment run; its report is written by the experiment"
            " (run it again without --no-report)"
        )
    reports = reports_path()
    reports.mkdir(parents=True, exist_ok=True)
    final = reports / entry.run_id
    scratch = reports / f".{safe_name(entry.run_id)}.{os.getpid()}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        try:
            bundles = default_catalog.bundles.find(None, tags={"run_id": entry.run_id})
        except TetherError:
            bundles = []
        logs = _copy_logs(default_storage, entry, scratch)
        metrics, params = _metrics_html(entry.run_id)
        page = render_page(
            "dag_report.html",
            folders=(TEMPLATES,),
            title=f"{entry.dag} {entry.run_id} \u2013 tether report",
            entry=entry,
            info=_info_html(entry),
            context_yaml=_context_text(default_storage, entry.run_folder),
            graph=render_svg(task_graph(entry, bundles), id_prefix="tasks") if entry.tasks else "",
            tasks=_tasks_html(entry, logs),
            metrics=metrics,
            params=params,
        )
        (scratch / "index.html").write_text(page, encoding="utf-8")
        replace_folder(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    write_runs_index(reports)
    return final
