"""`tether dag LABEL`: run a DAG."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import click

from tether.cli.main import prog_of

if TYPE_CHECKING:
    from tether.exec.records import TaskRecord
    from tether.exec.runner import PreparedRun


@click.command()
@click.argument("label")
@click.option("--retry", metavar="RUN_FOLDER", help="Run again in this run folder, reusing its context.")
@click.option("--from-task", metavar="TASK", help="Start at this task; run it and every task after it.")
@click.option("--task", "tasks", metavar="TASK", multiple=True, help="Run only this task of the DAG (repeatable).")
@click.option("--patch", "patches", metavar="FILE", multiple=True, help="YAML file in storage laid over the context.")
@click.option("--local-patch", "local_patches", metavar="FILE", multiple=True, help="Local YAML file laid over the context.")
@click.option("--set", "sets", metavar="KEY=VALUE", multiple=True, help="Set a context value, e.g. --set train.epochs=5.")
@click.option("--executor", metavar="NAME", help="local, process, dask or a dotted path (default: EXECUTOR_BACKEND).")
@click.option("--workers", type=click.IntRange(min=1), help="Workers for a parallel executor.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the context; run and write nothing.")
@click.pass_context
def dag(ctx: click.Context, label: str, retry: str | None, from_task: str | None, tasks: tuple[str, ...],
        patches: tuple[str, ...], local_patches: tuple[str, ...], sets: tuple[str, ...],
        executor: str | None, workers: int | None, dry_run: bool) -> None:
    """Run the DAG labelled LABEL.

    A failed run exits 1 and prints the command that resumes it.
    """
    from tether.conf import settings
    from tether.exec.runner import prepare_run

    settings.configure_logging()
    run = prepare_run(
        label, retry=retry, from_task=from_task, tasks=tasks, patches=patches,
        local_patches=local_patches, sets=sets, executor=executor, workers=workers,
        prog=prog_of(ctx), argv=[ctx.find_root().info_name or "tether", *sys.argv[1:]],
    )
    if dry_run:
        _print_plan(run)
        return
    with _progress(run) as on_task_done:
        record = run.execute(on_task_done)
    if record.ok:
        click.echo(f"Run {record.run_id} succeeded in {record.duration:.2f}s: {record.run_folder}")
        return
    click.echo(f"Run {record.run_id} failed: task {record.failed_task} raised {record.error}", err=True)
    click.echo(f"Log: {record.run_folder}/logs/{record.failed_task}.log", err=True)
    click.echo(f"Resume with: {record.resume}", err=True)
    ctx.exit(1)


@contextlib.contextmanager
def _progress(run: PreparedRun) -> Iterator[Callable[[TaskRecord], None]]:
    """A progress bar on a terminal; elsewhere one line per finished task on stderr."""
    total = len(run.plan.tasks)
    stream = click.get_text_stream("stderr")
    if not stream.isatty():
        done = 0

        def echo(task: TaskRecord) -> None:
            nonlocal done
            done += 1
            click.echo(f"[{done}/{total}] {task.label}: {task.status} in {task.duration or 0:.3f}s", err=True)

        yield echo
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task(f"dag {run.record.dag}", total=total)

        def advance(task: TaskRecord) -> None:
            progress.advance(bar)
            progress.update(bar, description=f"dag {run.record.dag}: {task.label} {task.status}")

        yield advance


def _print_plan(run: PreparedRun) -> None:
    record = run.record
    click.echo(f"DAG {record.dag}: {len(record.plan)} task(s) in run folder {record.run_folder} (dry run: nothing runs)")
    for index, task in enumerate(run.plan.tasks, start=1):
        needs = sorted(run.plan.upstream.get(task.label, ()))
        after = f"  (after {', '.join(needs)})" if needs else ""
        click.echo(f"  {index}. {task.label}  [{task.__module__}.{task.__name__}]{after}")
    import yaml

    from tether.conf import settings
    from tether.conf.context import mask_secrets

    shown = mask_secrets(run.context.to_dict(), settings.SECRET_KEYS)
    click.echo("context:")
    text = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True).rstrip()
    click.echo("  " + text.replace("\n", "\n  "))
