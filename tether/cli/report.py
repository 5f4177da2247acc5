"""`tether report RUN`: write (or refresh) the HTML report of a run."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run")
def report(run: str) -> None:
    """Write the HTML report of a run and print its path.

    RUN is a DAG run id (a unique prefix of one, or its run folder) or an
    experiment reference name. A DAG run's report is written from the catalog
    and its run folder; an experiment's report is written when it runs, so for
    one only the index of all runs is refreshed.
    """
    from tether.catalog import AmbiguousRunError, RunNotFoundError, default_catalog
    from tether.experiments.report_index import write_runs_index
    from tether.experiments.reporting import ReportError
    from tether.reports import reports_path, write_run_report

    reports = reports_path()
    try:
        entry = default_catalog.get_run(run)
    except AmbiguousRunError:
        raise
    except RunNotFoundError:
        page = reports / run / "index.html"
        if "/" not in run and not run.startswith((".", "_")) and page.is_file():
            # A report whose run the catalog no longer holds (a rebuilt catalog)
            # still belongs in the index.
            write_runs_index(reports)
            click.echo(str(page))
            return
        raise RunNotFoundError(
            f"no run {run!r} is recorded; give a DAG run id (`tether runs ls`) or an experiment"
            " reference name (`tether experiment ls`)"
        ) from None
    if entry.kind == "experiment":
        page = reports / entry.run_id / "index.html"
        if not page.is_file():
            raise ReportError(
                f"experiment run {entry.run_id} has no report in {page.parent}; it ran with"
                " --no-report or --dry: run the experiment again to get one"
            )
        write_runs_index(reports)
        click.echo(str(page))
        return
    folder = write_run_report(entry.run_id)
    click.echo(str(folder / "index.html"))
