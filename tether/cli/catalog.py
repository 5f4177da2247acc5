"""`tether catalog rebuild`: index again the run folders kept in storage."""

from __future__ import annotations

import click


@click.group()
def catalog() -> None:
    """Maintain the catalog, the index of runs."""


@catalog.command()
def rebuild() -> None:
    """Rebuild the catalog from the run folders in storage (run.json, metrics.json)."""
    from tether.catalog import default_catalog
    from tether.files.storages import default_storage

    report = default_catalog.rebuild(default_storage)
    click.echo(f"Indexed {report.runs} run(s), {report.tasks} task run(s), {report.metrics} metric value(s).")
    for skipped in report.skipped:
        click.echo(f"Skipped {skipped}", err=True)
