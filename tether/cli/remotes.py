"""`tether remote|push|pull|rmr`: share bundles through a remote (S3, GCS, a folder, any fsspec URL).

A thin layer over `tether.bundles` (Disdat's `dsdt remote/push/pull/rmr`). On
a terminal, long transfers show a progress bar on stderr; elsewhere, one
summary line per command on stdout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import click

from tether.cli.bundles import context_option, parse_tags, tag_option
from tether.exceptions import UsageError

__all__ = ["pull_command", "push_command", "remote_command", "rmr_command"]

uuid_option = click.option("-u", "--uuid", metavar="UUID", help="One bundle, by uuid or a unique prefix (trumps NAME).")

_STAGES = {"check": "blobs checked", "blob": "files sent/fetched", "bundle": "bundles", "manifest": "manifests"}


@contextlib.contextmanager
def _progress(title: str) -> Iterator[Callable[[str, int], None] | None]:
    """A rich progress display on a terminal (stderr), or None elsewhere."""
    stream = click.get_text_stream("stderr")
    if not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bars: dict[str, Any] = {}

        def tick(stage: str, count: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(f"{title}: {_STAGES.get(stage, stage)}", total=None)
            progress.advance(bars[stage], count)

        yield tick


@click.command("remote")
@click.argument("remote_context", required=False)
@click.argument("url", required=False)
@context_option
@click.option("--force", is_flag=True, help="Replace a different remote already bound to the context.")
def remote_command(remote_context: str | None, url: str | None, context_name: str | None, force: bool) -> None:
    """Bind the data context to REMOTE_CONTEXT at URL (s3://bucket/prefix, gs://..., a folder); or show it."""
    import tether.bundles as api

    context = context_name or api.current_context()
    if remote_context is None:
        bound = dict(api.ls_contexts()).get(context)
        click.echo(f"{context}: {bound}" if bound else f"{context}: no remote (bind one with `tether remote NAME URL`)")
        return
    if url is None:
        raise UsageError("give the URL too: `tether remote REMOTE_CONTEXT URL`, e.g. s3://bucket/prefix")
    api.remote(context, remote_context, url, force=force)
    click.echo(f"Bound data context {context!r} to {dict(api.ls_contexts())[context]}.")


@click.command("push")
@click.argument("name", required=False)
@context_option
@uuid_option
@tag_option
@click.option("--commit", "commit", is_flag=True, help="Commit the bundle first if it is not committed.")
@click.option("--delocalize", is_flag=True, help="Afterwards, free the local copies of the pushed files.")
def push_command(
    name: str | None, context_name: str | None, uuid: str | None, tags: tuple[str, ...], commit: bool,
    delocalize: bool,
) -> None:
    """Push bundle NAME (the newest), or every committed bundle, to the context's remote."""
    import tether.bundles as api

    with _progress("push") as tick:
        report = api.push(
            context_name, name, tags=parse_tags(tags), uuid=uuid, delocalize=delocalize, commit=commit, progress=tick
        )
    click.echo(
        f"Pushed {len(report.pushed)} bundle(s) ({report.blobs} file(s), {_size(report.bytes)});"
        f" {report.present} already on the remote."
    )


@click.command("pull")
@click.argument("name", required=False)
@context_option
@uuid_option
@tag_option
@click.option("--localize", is_flag=True, help="Also fetch the bundles' files now (else on first read).")
def pull_command(
    name: str | None, context_name: str | None, uuid: str | None, tags: tuple[str, ...], localize: bool
) -> None:
    """Pull bundle NAME (the newest), or every bundle, from the context's remote."""
    import tether.bundles as api

    with _progress("pull") as tick:
        report = api.pull(context_name, name, uuid=uuid, localize=localize, tags=parse_tags(tags), progress=tick)
    files = f" ({report.blobs} file(s), {_size(report.bytes)})" if localize else " (metadata; files on first read)"
    click.echo(f"Pulled {len(report.pulled)} bundle(s){files}; {report.present} already here.")


@click.command("rmr")
@click.argument("name", required=False)
@context_option
@uuid_option
@tag_option
@click.option("--all", "rm_all", is_flag=True, help="Remove every match, not just the newest.")
def rmr_command(
    name: str | None, context_name: str | None, uuid: str | None, tags: tuple[str, ...], rm_all: bool
) -> None:
    """Remove bundle NAME (the newest, or all with --all) from the context's remote, not from here."""
    import tether.bundles as api

    if name is None and uuid is None and not tags:
        raise UsageError("say what to remove from the remote: NAME, -u UUID or -t KEY:VALUE")
    removed = api.rmr(context_name, name, uuid=uuid, tags=parse_tags(tags), rm_all=rm_all)
    click.echo(f"Removed {len(removed)} bundle(s) from the remote: {', '.join(removed)}")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
