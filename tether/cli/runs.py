"""`tether runs ls|show|compare`: the runs recorded in storage."""

from __future__ import annotations

import json
from typing import Any

import click


@click.group()
def runs() -> None:
    """List, show and compare runs."""


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if click.get_text_stream("stdout").isatty() else 200)


def _short(run_id: str) -> str:
    return run_id[:8]


@runs.command("ls")
@click.option("--dag", "dag_label", metavar="LABEL", help="Only runs of this DAG.")
@click.option("--status", type=click.Choice(["success", "failed", "running", "interrupted"]), help="Only runs with this status.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many runs.")
def ls(dag_label: str | None, status: str | None, limit: int) -> None:
    """List runs, newest first."""
    from rich.table import Table

    from tether.catalog import default_catalog

    entries = default_catalog.list_runs(dag=dag_label, status=status, limit=limit)
    if not entries:
        click.echo("No runs recorded. Start one with `tether dag LABEL`; `tether catalog rebuild` indexes existing run folders.")
        return
    table = Table("RUN ID", "DAG", "STATUS", "STARTED", "DURATION", "FOLDER", box=None)
    for run in entries:
        duration = f"{run.duration:.2f}s" if run.duration is not None else "-"
        started = (run.started_at or run.created_at or "")[:19].replace("T", " ")
        table.add_row(run.run_id, run.dag, run.status, started, duration, run.run_folder)
    _console().print(table)


@runs.command("show")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the run's run.json, indented.")
def show(run: str, as_json: bool) -> None:
    """Show a run: RUN is a run id, a unique prefix of one, or a run folder."""
    from rich.table import Table

    from tether.exec.records import find_run
    from tether.files.storages import default_storage

    record = find_run(default_storage, run)
    if as_json:
        click.echo(json.dumps(json.loads(record.to_json()), indent=2))
        return
    git = record.environment.get("git") or {}
    lines = [
        ("run", record.run_id),
        ("dag", record.dag),
        ("status", record.status),
        ("folder", record.run_folder),
        ("started", record.started_at or "-"),
        ("duration", f"{record.duration:.3f}s" if record.duration is not None else "-"),
        ("git", f"{git.get('commit') or '-'}{' (dirty)' if git.get('dirty') else ''}"),
        ("host", record.environment.get("host", "-")),
        ("command", record.command or "-"),
        ("reproduce", record.reproduce or "-"),
    ]
    if record.error:
        lines.append(("error", f"{record.failed_task}: {record.error}"))
    if record.resume:
        lines.append(("resume", record.resume))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        click.echo(f"{key.ljust(width)}  {value}")
    if not record.tasks:  # an experiment run: its stages are in its report
        return
    table = Table("TASK", "STATUS", "ATTEMPTS", "DURATION", "ERROR", box=None)
    for label, task in record.tasks.items():
        duration = f"{task.duration:.3f}s" if task.duration is not None else "-"
        table.add_row(label, task.status, str(task.attempts), duration, task.error or "")
    click.echo()
    _console().print(table)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: data}


@runs.command("compare")
@click.argument("run_refs", metavar="RUN RUN...", nargs=-1, required=True)
def compare(run_refs: tuple[str, ...]) -> None:
    """Compare the metrics and parameters of runs, side by side."""
    import yaml
    from rich.table import Table

    from tether.conf import settings
    from tether.conf.context import mask_secrets
    from tether.catalog import default_catalog
    from tether.exec.records import CONTEXT_FILE, find_run
    from tether.files.storages import default_storage

    if len(run_refs) < 2:
        raise click.UsageError("give at least two runs to compare")
    records = [find_run(default_storage, ref) for ref in run_refs]
    columns: list[dict[str, Any]] = []
    for record in records:
        context_path = f"{record.run_folder}/{CONTEXT_FILE}"
        context = yaml.safe_load(default_storage.read(context_path)) if default_storage.isfile(context_path) else {}
        context = mask_secrets(context, settings.SECRET_KEYS)
        context.pop("meta", None)
        values = {f"param {k}": v for k, v in default_catalog.get_params(record.run_id).items()}
        # Metrics come ordered by key and step: the last one of a key is its final value.
        values.update({f"metric {m.key}": m.value for m in default_catalog.get_metrics(record.run_id)})
        values.update({f"context {k}": v for k, v in _flatten(context).items()})
        columns.append(values)
    keys = sorted({key for column in columns for key in column})
    # Context values every run shares are noise in a comparison; metrics and
    # logged parameters are always shown.
    keys = [
        key for key in keys
        if not key.startswith("context ") or len({json.dumps(c.get(key), default=str) for c in columns}) > 1
    ]
    table = Table("", *(f"{_short(r.run_id)} ({r.dag})" for r in records), box=None)
    for key in keys:
        table.add_row(key, *("" if key not in c else str(c[key]) for c in columns))
    _console().print(table)
