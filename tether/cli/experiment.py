"""`tether experiment NAME -p PARAMS ...` runs an experiment; `tether experiment ls` lists the runs."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import click


class _ExperimentGroup(click.Group):
    """`experiment ls` lists; `experiment NAME ...` runs NAME."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ExperimentGroup)
def experiment() -> None:
    """Run an experiment (`tether experiment NAME -p PARAMS`), or list runs (`tether experiment ls`).

    NAME is a module of the experiments package with run(param_sets, manager);
    each -p names a module of the params package with get_params().
    """


@experiment.command("run")
@click.argument("name")
@click.option("-p", "--params", "param_files", metavar="FILE", multiple=True,
              help="A parameter file: a module of the params package with get_params() (repeatable).")
@click.option("-n", "--names", "names", metavar="NAME", multiple=True, help="Run only the parameter sets with this name (repeatable).")
@click.option("--parallel", type=click.IntRange(min=1), metavar="N", help="Run the parameter sets in N processes.")
@click.option("--store-full", is_flag=True, help="Write a self-contained run folder under STORAGE_ROOT/experiments/.")
@click.option("--dry", is_flag=True, help="Write nothing: no cache, no registry entry, no report, no log.")
@click.option("--dry-cache", is_flag=True, help="Write no cache files (read a --store-full folder's cache).")
@click.option("--overwrite", is_flag=True, help="Recompute every stage.")
@click.option("--overwrite-stage", "overwrite_stages", metavar="STAGE", multiple=True,
              help="Recompute this stage and everything downstream of it (repeatable).")
@click.option("--lazy", is_flag=True, help="Keep every stage output on disk until a stage needs it.")
@click.option("--ignore-lazy", is_flag=True, help="Keep every output in memory, Lazy ones included.")
@click.option("--prefix", metavar="P", help="Cache under this prefix instead of the experiment's name.")
@click.option("--cache", "cache_path", metavar="DIR", help="The cache folder (e.g. a --store-full folder's artifacts).")
@click.option("--map", "map_only", is_flag=True, help="Map the stages and print what would run; run nothing.")
@click.option("--explain", is_flag=True, help="Print why each stage would run, load from the cache, or be skipped; run nothing.")
@click.option("--hashes", is_flag=True, help="Print the hash of each parameter set and exit.")
@click.option("--notes", metavar="TEXT", is_flag=False, flag_value="",
              help="A note stored with the run; --notes alone asks for it (or reads a piped stdin).")
@click.option("--progress", is_flag=True, help="Show a progress bar of the stages.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--notebook", is_flag=True,
              help="Write a Jupyter notebook that loads the run's records (notebooks/experiments/<ref>.ipynb).")
@click.option("--param-sets-file", metavar="FILE", hidden=True,
              help="A pickle of parameter sets (a --store-full folder's params.pkl).")
@click.pass_context
def run_command(ctx: click.Context, name: str, param_files: tuple[str, ...], names: tuple[str, ...],
                parallel: int | None, store_full: bool, dry: bool, dry_cache: bool, overwrite: bool,
                overwrite_stages: tuple[str, ...], lazy: bool, ignore_lazy: bool, prefix: str | None,
                cache_path: str | None, map_only: bool, explain: bool, hashes: bool, notes: str | None,
                progress: bool, no_report: bool, notebook: bool, param_sets_file: str | None) -> None:
    """Run experiment NAME over the parameter sets of the -p files.

    A failed experiment exits 1; its registry entry holds the error.
    """
    from tether.conf import settings
    from tether.exec.records import command_line
    from tether.experiments.experiment import run_experiment
    from tether.experiments.params import load_parameter_sets

    settings.configure_logging()
    if lazy and ignore_lazy:
        raise click.UsageError("--lazy and --ignore-lazy contradict each other; give one")
    param_sets = _param_sets_file(param_sets_file) if param_sets_file else None
    if hashes:
        sets = param_sets if param_sets is not None else load_parameter_sets(param_files or [name], only=names)[0]
        from tether.experiments.params import parameters_hash

        for item in sets:
            click.echo(f"{parameters_hash(item)}  {getattr(item, 'name', '')}")
        return
    if notes == "":
        from tether.experiments.manager import ask_notes

        # Asked here, before a progress bar takes the terminal.
        notes = ask_notes()
    started = time.perf_counter()
    with _progress(progress) as (on_planned, on_stage):
        manager = run_experiment(
            name, list(param_files), param_sets=param_sets, names=list(names) or None, dry=dry,
            dry_cache=dry_cache, store_full=store_full, prefix=prefix, cache_path=cache_path,
            overwrite=overwrite, overwrite_stages=list(overwrite_stages), lazy=lazy, ignore_lazy=ignore_lazy,
            parallel=parallel, map_only=map_only, explain=explain, notes=notes, report=not no_report,
            notebook=notebook,
            run_line=command_line([ctx.find_root().info_name or "tether", *sys.argv[1:]]),
            on_stage_done=on_stage, on_planned=on_planned,
        )
    if explain or map_only:
        _print_plan(manager, explain)
        return
    counts: dict[str, int] = {}
    for record in manager.records:
        for status in record.stage_status.values():
            counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no stages"
    reference = manager.get_reference_name() if not manager.dry else f"{manager.experiment_name} (dry)"
    click.echo(f"Experiment {reference} {manager.status} in {time.perf_counter() - started:.2f}s: {summary}")
    if notebook and not manager.dry:
        from tether.experiments.notebook import notebook_path

        click.echo(f"Notebook: {notebook_path(manager)}")
    if manager.store_full:
        click.echo(f"Full store: {manager.get_run_output_path()}")
        if manager.get_run_storage_path() is not None:
            click.echo(f"Local copy: {manager.get_run_staging_path()}")
        click.echo(f"Reproduce with: {manager.reproduction_line}")


def _param_sets_file(path: str) -> list[Any]:
    import pickle

    from tether.experiments.errors import ParametersError

    try:
        with open(path, "rb") as handle:
            found = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ParametersError(
            f"cannot read parameter sets from {path}: {exc}; give the params.pkl of a --store-full folder,"
            " with the project importable"
        ) from exc
    if not isinstance(found, list):
        raise ParametersError(f"{path} holds a {type(found).__name__}, not a list of parameter sets")
    return found


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[tuple[Any, Any]]:
    if not enabled:
        yield None, None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task("stages", total=None)

        def planned(manager: Any) -> None:
            total = len(manager.plan.nodes) if manager.plan is not None else None
            progress.update(bar, total=total)

        def done(record: Any, stage_name: str) -> None:
            progress.advance(bar)
            progress.update(bar, description=f"{record.name}: {stage_name}")

        yield planned, done


def _print_plan(manager: Any, explain: bool) -> None:
    plan = manager.plan
    if plan is None:
        click.echo("Nothing was mapped: run() called no stage.")
        return
    names: dict[int, str] = {}
    for node in plan.nodes:
        names.setdefault(node.record_index, f"record {node.record_index}")
    click.echo(f"Experiment {manager.experiment_name}: {len(plan.nodes)} stage call(s)")
    last = None
    for node in plan.nodes:
        if node.record_index != last:
            label = manager.plan_labels.get(node.record_index, str(node.record_index))
            click.echo(f"  {label}")
            last = node.record_index
        text = node.explain() if explain else node.action
        click.echo(f"    {node.stage}: {text}")
    counts = plan.counts()
    click.echo(f"{counts['run']} to run, {counts['cached']} from the cache, {counts['skipped']} skipped")


@experiment.command("ls")
@click.option("-e", "--experiment", "name", metavar="NAME", help="Only runs of this experiment.")
@click.option("--status", type=click.Choice(["complete", "error", "incomplete"]), help="Only runs with this status.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many runs.")
def ls_command(name: str | None, status: str | None, limit: int) -> None:
    """List experiment runs, newest first."""
    from rich.console import Console
    from rich.table import Table

    from tether.catalog import default_catalog

    entries = default_catalog.list_runs(kind="experiment", dag=name, status=status, limit=limit)
    if not entries:
        click.echo("No experiment runs recorded. Start one with `tether experiment NAME -p PARAMS`.")
        return
    table = Table("REFERENCE", "EXPERIMENT", "STATUS", "STARTED", "DURATION", "HOST", "FOLDER", box=None)
    for run in entries:
        duration = f"{run.duration:.2f}s" if run.duration is not None else "-"
        started = (run.started_at or "")[:19].replace("T", " ")
        table.add_row(run.run_id, run.dag, run.status, started, duration, run.host or "", run.run_folder or "-")
    width = None if click.get_text_stream("stdout").isatty() else 200
    Console(soft_wrap=False, width=width).print(table)
