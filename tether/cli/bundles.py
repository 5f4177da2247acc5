"""`tether context|switch|ls|cat|add|commit|rm|lineage|bundle show`: data bundles from the shell.

A thin layer over `tether.bundles` (Disdat's `dsdt` commands). Every command
imports `tether.bundles` inside its body, so `--help` stays light. Bad input
(a malformed `-t`, an unknown bundle or context) is a `TetherError`, which the
CLI prints as one line and exits 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from tether.exceptions import UsageError

if TYPE_CHECKING:
    from tether.bundles import Bundle, LineageRecord

__all__ = [
    "add_command",
    "bundle",
    "cat_command",
    "commit_command",
    "context_command",
    "lineage_command",
    "ls_command",
    "rm_command",
    "switch_command",
]

_UUID = re.compile(r"[0-9a-f]{4}[0-9a-f-]{0,32}")  # a uuid or a prefix of one
_DEFAULT_ROWS = 60

context_option = click.option(
    "-c", "--context", "context_name", metavar="CONTEXT",
    help="The data context (default: the current one, see `tether context`).",
)
tag_option = click.option(
    "-t", "--tag", "tags", metavar="KEY:VALUE", multiple=True,
    help="A tag, as key:value (repeat for more).",
)


# --- helpers -------------------------------------------------------------------------------


def parse_tags(values: Sequence[str]) -> dict[str, str] | None:
    """`-t key:value` options as a dict (None if there are none).

    Raises:
        UsageError: a tag has no `:` or no key, or a key is given two values.
    """
    if not values:
        return None
    tags: dict[str, str] = {}
    for text in values:
        key, colon, value = text.partition(":")
        if not colon or not key.strip():
            raise UsageError(f"malformed tag {text!r}: give -t key:value, e.g. -t source:s3")
        key = key.strip()
        if key in tags and tags[key] != value:
            raise UsageError(f"tag {key!r} is given twice ({tags[key]!r} and {value!r}); give it once")
        tags[key] = value
    return tags


def _when(moment: datetime | None) -> str:
    """A creation time in local time, to the second (`-` if unknown)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def _tags_text(tags: dict[str, str]) -> str:
    return ",".join(f"{key}:{value}" for key, value in sorted(tags.items())) or "-"


def _columns(rows: list[list[str]]) -> Iterable[str]:
    """Rows as left-aligned columns, two spaces apart (the last column unpadded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        yield "  ".join(cells).rstrip()


def _where(api: Any, context_name: str | None) -> str:
    return context_name if context_name is not None else api.current_context()


def _find_bundle(api: Any, context_name: str | None, ref: str) -> Bundle:
    """The bundle `ref` names: a uuid or unique uuid prefix, else the newest bundle with that name.

    Raises:
        BundleNotFoundError: nothing matches.
    """
    found = api.get(context_name, uuid=ref) if _UUID.fullmatch(ref) else None
    if found is None:
        found = api.get(context_name, ref)
    if found is None:
        raise api.BundleNotFoundError(
            f"no bundle with name or uuid {ref!r} in data context {_where(api, context_name)!r};"
            " `tether ls` lists the bundles"
        )
    return found


def _not_found(api: Any, context_name: str | None, name: str | None, uuid: str | None,
               tags: dict[str, str] | None) -> Exception:
    what = f"uuid {uuid}" if uuid else f"name {name!r}"
    return api.BundleNotFoundError(
        f"no bundle with {what}{' and those tags' if tags else ''} in data context"
        f" {_where(api, context_name)!r}; `tether ls` lists the bundles"
    )


# --- contexts ------------------------------------------------------------------------------


@click.command("context")
@click.argument("name", required=False)
@click.option("-d", "--delete", is_flag=True, help="Delete the context NAME with all its bundles.")
@click.option("--force", is_flag=True, help="With --delete: also delete committed bundles.")
@click.option("--remote", is_flag=True, help="With --delete --force: also delete the remote context bound to it.")
def context_command(name: str | None, delete: bool, force: bool, remote: bool) -> None:
    """List the data contexts (the current one marked `*`), or create context NAME."""
    import tether.bundles as api

    if remote and not delete:
        raise UsageError("--remote goes with --delete; `tether remote` binds a remote")
    if delete:
        if name is None:
            raise UsageError("--delete needs the NAME of the data context to delete")
        api.delete_context(name, remote=remote, force=force)
        click.echo(f"Deleted data context {name!r}.")
        return
    if force:
        raise UsageError("--force goes with --delete; `tether context NAME` creates a context")
    if name is not None:
        if api.context(name) == 0:
            click.echo(f"Created data context {name!r}. Make it the current one with `tether switch {name}`.")
        else:
            click.echo(f"Data context {name!r} already exists.")
        return
    current = api.current_context()
    contexts = {info.name: info.remote for info in api.ls_contexts()}
    # The `default` context counts as existing (and empty) before it is written to.
    contexts.setdefault(api.DEFAULT_CONTEXT, None)
    contexts.setdefault(current, None)
    for each in sorted(contexts):
        remote = contexts[each]
        click.echo(f"{'*' if each == current else ' '} {each}{f'  ({remote})' if remote else ''}")


@click.command("switch")
@click.argument("name")
def switch_command(name: str) -> None:
    """Make data context NAME the current one."""
    import tether.bundles as api

    api.switch(name)
    click.echo(f"Switched to data context {name!r}.")


# --- listing and reading -------------------------------------------------------------------


@click.command("ls")
@click.argument("name_pattern", required=False)
@click.option("-v", "--verbose", is_flag=True, help="Also show processing name, presentation and tags.")
@tag_option
@click.option("--committed/--uncommitted", "committed", default=None,
              help="Only committed (or only uncommitted) bundles.")
@click.option("--latest", is_flag=True, help="Only the newest bundle of each name.")
@click.option("--intermediates", is_flag=True, help="Only bundles another bundle was made from.")
@click.option("--roots", is_flag=True, help="Only final outputs: bundles no other bundle was made from.")
@click.option("--before", metavar="TIME", help="Only bundles created before TIME (ISO 8601 or MM-DD-YYYY[ HH:MM:SS], local time).")
@click.option("--after", metavar="TIME", help="Only bundles created at or after TIME.")
@click.option("-n", "--limit", type=click.IntRange(min=1), help="Show at most this many bundles.")
@context_option
def ls_command(
    name_pattern: str | None,
    verbose: bool,
    tags: tuple[str, ...],
    committed: bool | None,
    latest: bool,
    intermediates: bool,
    roots: bool,
    before: str | None,
    after: str | None,
    limit: int | None,
    context_name: str | None,
) -> None:
    """List bundles, newest first.

    NAME_PATTERN is an exact name, or a pattern where `*` matches any text
    (every other character, `.` included, matches itself): quote it, as in
    `tether ls 'features.*'`.
    """
    import tether.bundles as api

    found = api.search(
        context_name,
        name_pattern,
        parse_tags(tags),
        is_committed=committed,
        find_intermediates=intermediates,
        find_roots=roots,
        before=before,
        after=after,
        latest=latest,
        limit=limit,
    )
    if not found:
        click.echo(f"No bundles match in data context {_where(api, context_name)!r}.")
        return
    header = ["NAME", "UUID", "CREATED", "COMMITTED"]
    if verbose:
        header += ["PROCESSING NAME", "PRESENTATION", "TAGS"]
    rows = [header]
    for each in found:
        row = [each.name, each.uuid, _when(each.creation_date), "yes" if each.committed else "no"]
        if verbose:
            row += [each.processing_name or "-", each.presentation or "-", _tags_text(each.tags)]
        rows.append(row)
    for line in _columns(rows):
        click.echo(line)


def render(data: Any, max_rows: int = _DEFAULT_ROWS) -> str:
    """Bundle data as text: tables with a row limit, files as paths, JSON-able values as JSON."""
    from pathlib import PurePath

    module = type(data).__module__ or ""
    if module.startswith("pandas") and hasattr(data, "to_string"):
        text = data.to_string(max_rows=max_rows)
        shape = getattr(data, "shape", ())
        if shape and shape[0] > max_rows:
            dims = f"{shape[0]} rows x {shape[1]} columns" if len(shape) > 1 else f"{shape[0]} rows"
            text += f"\n[{dims}; showing {max_rows}, see --max-rows]"
        return text
    if isinstance(data, PurePath):
        return str(data)
    if isinstance(data, list | tuple) and data and all(isinstance(item, PurePath) for item in data):
        return "\n".join(str(item) for item in data)
    if isinstance(data, str):
        return data
    if isinstance(data, dict | list) and _plain(data):
        return json.dumps(data, indent=2, ensure_ascii=False)
    if isinstance(data, dict | list | tuple | set | frozenset):
        import pprint

        return pprint.pformat(data, sort_dicts=False)
    return str(data) if isinstance(data, datetime) else repr(data)


def _plain(value: Any) -> bool:
    """Whether `value` is JSON exactly: dicts with str keys, lists, str, finite numbers, bools, None."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


@click.command("cat")
@click.argument("name", required=False)
@click.option("--uuid", help="The bundle with this uuid (instead of the newest named NAME).")
@tag_option
@click.option("--max-rows", type=click.IntRange(min=1), default=_DEFAULT_ROWS, show_default=True,
              help="Show at most this many rows of a table.")
@context_option
def cat_command(name: str | None, uuid: str | None, tags: tuple[str, ...], max_rows: int,
                context_name: str | None) -> None:
    """Print the data of the newest bundle named NAME (or of --uuid).

    NAME may also be a uuid or a unique uuid prefix, as for `tether lineage`.
    """
    import tether.bundles as api

    if name is None and uuid is None:
        raise UsageError("give the NAME of the bundle to print, or its --uuid")
    tag_filter = parse_tags(tags)
    if name is not None and uuid is None and not tag_filter:
        click.echo(render(_find_bundle(api, context_name, name).data, max_rows))
        return
    found = api.get(context_name, name, uuid=uuid, tags=tag_filter)
    if found is None:
        raise _not_found(api, context_name, name, uuid, tag_filter)
    click.echo(render(found.data, max_rows))


# --- writing -------------------------------------------------------------------------------


@click.command("add")
@click.argument("name")
@click.argument("path")
@tag_option
@context_option
def add_command(name: str, path: str, tags: tuple[str, ...], context_name: str | None) -> None:
    """Make a bundle NAME of the file or folder PATH."""
    import tether.bundles as api

    made = api.add(context_name, name, path, tags=parse_tags(tags))
    click.echo(f"Added bundle {made.name!r} {made.uuid} to data context {made.context!r}.")


@click.command("commit")
@click.argument("name", required=False)
@click.option("--uuid", help="The bundle with this uuid (instead of the newest named NAME).")
@tag_option
@context_option
def commit_command(name: str | None, uuid: str | None, tags: tuple[str, ...], context_name: str | None) -> None:
    """Commit the newest bundle named NAME (or --uuid)."""
    import tether.bundles as api

    if name is None and uuid is None:
        raise UsageError("give the NAME of the bundle to commit, or its --uuid")
    done = api.commit(context_name, name, tags=parse_tags(tags), uuid=uuid)
    click.echo(f"Committed bundle {done.name!r} {done.uuid}.")


@click.command("rm")
@click.argument("name", required=False)
@click.option("--uuid", help="The bundle with this uuid.")
@tag_option
@click.option("--all", "rm_all", is_flag=True, help="Remove every matching bundle, the newest included.")
@click.option("--old-only", is_flag=True, help="Remove every matching bundle but the newest.")
@click.option("--force", is_flag=True, help="Also remove committed bundles.")
@context_option
def rm_command(name: str | None, uuid: str | None, tags: tuple[str, ...], rm_all: bool, old_only: bool,
               force: bool, context_name: str | None) -> None:
    """Remove the newest bundle named NAME (or --uuid, or with the -t tags)."""
    import tether.bundles as api

    tag_filter = parse_tags(tags)
    if name is None and uuid is None and not tag_filter:
        raise UsageError("give the NAME of the bundles to remove, a --uuid or -t tags")
    if rm_all and old_only:
        raise UsageError("--all and --old-only exclude each other; give one of them")
    removed = api.rm(context_name, name, uuid=uuid, tags=tag_filter, rm_all=rm_all, rm_old_only=old_only, force=force)
    if not removed:
        if not api.search(context_name, None if uuid else name, tag_filter, uuid=uuid, limit=1):
            raise _not_found(api, context_name, name, uuid, tag_filter)
        click.echo("Nothing to remove: only the newest bundle matches, and --old-only keeps it.")
        return
    for each in removed:
        click.echo(f"Removed bundle {each.name!r} {each.uuid}.")


# --- lineage and details -------------------------------------------------------------------


def lineage_lines(records: list[LineageRecord], upstream: bool, max_depth: int | None = None) -> list[str]:
    """A lineage walk as a tree indented by depth.

    Each bundle is shown in full once, at its depth (its shortest distance from
    the start), under its first neighbour one step nearer; any other link to it
    is a one-line reference. `upstream` walks say `arg <- bundle` (the argument
    the bundle above read it as); downstream walks say `(as arg) bundle`.
    """
    if not records:
        return []
    root = records[0]
    by_uuid = {record.uuid: record for record in records}
    # links[uuid]: (argument name, record) one step further from the start.
    links: dict[str, list[tuple[str, LineageRecord]]] = {record.uuid: [] for record in records}
    for record in records:
        for arg, other in sorted(record.depends_on.items()):
            if other in by_uuid:
                if upstream:
                    links[record.uuid].append((arg, by_uuid[other]))
                else:
                    links[other].append((arg, record))
    lines: list[str] = []
    shown: set[str] = set()

    def describe(record: LineageRecord) -> str:
        if record.name is None:
            return f"{record.uuid}  (not in the catalog)"
        parts = [record.name, record.uuid, _when(record.creation_date)]
        if record.code_method:
            parts.append(f"code {record.code_method}")
        if record.context and record.context != root.context:
            parts.append(f"in context {record.context}")
        return "  ".join(parts)

    def visit(record: LineageRecord, arg: str | None, level: int) -> None:
        if max_depth is not None and level > max_depth:
            return
        edge = "" if arg is None else f"{arg} <- " if upstream else f"(as {arg}) "
        prefix = "  " * level + edge
        if record.uuid in shown or record.depth != level:
            lines.append(f"{prefix}{record.name or record.uuid} {record.uuid}  (see depth {record.depth})")
            return
        shown.add(record.uuid)
        lines.append(prefix + describe(record))
        for child_arg, child in links[record.uuid]:
            visit(child, child_arg, level + 1)

    visit(root, None, 0)
    for record in records:  # not reached from the start (should not happen): listed by depth
        if record.uuid not in shown:
            shown.add(record.uuid)
            lines.append("  " * record.depth + describe(record))
    return lines


@click.command("lineage")
@click.argument("ref", metavar="UUID")
@click.option("--depth", type=click.IntRange(min=0), help="Go at most this many steps from the bundle.")
@click.option("--down", is_flag=True, help="Show the bundles made from this one instead of what it was made from.")
@context_option
def lineage_command(ref: str, depth: int | None, down: bool, context_name: str | None) -> None:
    """Show what bundle UUID was made from (or, with --down, what was made from it).

    UUID may also be a bundle name, for the newest bundle of that name.
    """
    import tether.bundles as api

    uuid = _find_bundle(api, context_name, ref).uuid
    walk = api.downstream if down else api.lineage
    for line in lineage_lines(walk(context_name, uuid, max_depth=depth), upstream=not down, max_depth=depth):
        click.echo(line)


@click.group("bundle")
def bundle() -> None:
    """Inspect bundles."""


def bundle_details(api: Any, found: Bundle) -> dict[str, Any]:
    """Every property of a bundle, as JSON-able values."""
    start, stop = found.timing
    repo, commit, branch = found.git_info
    try:
        names = {record.uuid: record.name for record in api.lineage(found.context, found.uuid, max_depth=1)}
    except api.BundleError:
        names = {}
    return {
        "name": found.name,
        "uuid": found.uuid,
        "context": found.context,
        "processing_name": found.processing_name,
        "owner": found.owner,
        "created": found.creation_date.isoformat() if found.creation_date else None,
        "committed": found.committed,
        "presentation": found.presentation,
        "code_ref": found.code_ref,
        "git": {"repo": repo, "commit": commit, "branch": branch},
        "timing": {"start": start, "stop": stop},
        "tags": found.tags,
        "params": found.params,
        "dependencies": {
            arg: {"uuid": uuid, "name": names.get(uuid)} for arg, uuid in sorted(found.dependencies.items())
        },
        "files": [{"path": f.path, "hash": f.hash, "size": f.size} for f in found.files],
    }


@bundle.command("show")
@click.argument("ref", metavar="NAME_OR_UUID")
@click.option("--json", "as_json", is_flag=True, help="Print the properties as JSON.")
@context_option
def show(ref: str, as_json: bool, context_name: str | None) -> None:
    """Show every property of a bundle: a uuid, or the newest bundle with that name."""
    import tether.bundles as api

    details = bundle_details(api, _find_bundle(api, context_name, ref))
    if as_json:
        click.echo(json.dumps(details, indent=2, default=str, ensure_ascii=False))
        return
    git = details["git"]
    start, stop = details["timing"]["start"], details["timing"]["stop"]
    created = _when(datetime.fromisoformat(details["created"])) if details["created"] else "-"
    scalars = [
        ("name", details["name"]),
        ("uuid", details["uuid"]),
        ("context", details["context"]),
        ("processing name", details["processing_name"] or "-"),
        ("owner", details["owner"] or "-"),
        ("created", created),
        ("committed", "yes" if details["committed"] else "no"),
        ("presentation", details["presentation"] or "-"),
        ("code ref", details["code_ref"] or "-"),
        ("git", " ".join(v for v in (git["repo"], git["commit"], git["branch"]) if v) or "-"),
        ("timing", f"{_epoch(start)} to {_epoch(stop)} ({stop - start:.3f}s)" if start or stop else "-"),
    ]
    width = max(len(key) for key, _ in scalars)
    for key, value in scalars:
        click.echo(f"{key.ljust(width)}  {value}")
    sections: list[tuple[str, list[str]]] = [
        ("tags", [f"{k}: {v}" for k, v in sorted(details["tags"].items())]),
        ("params", [f"{k}: {json.dumps(v, default=str, ensure_ascii=False)}" for k, v in sorted(details["params"].items())]),
        ("dependencies", [
            f"{arg}: {dep['uuid']}" + (f" ({dep['name']})" if dep["name"] else "")
            for arg, dep in details["dependencies"].items()
        ]),
        ("files", [f"{f['path']}  {f['size']} bytes  {f['hash']}" for f in details["files"]]),
    ]
    for title, entries in sections:
        click.echo(f"{title.ljust(width)}  {'-' if not entries else ''}".rstrip())
        for entry in entries:
            click.echo(f"  {entry}")


def _epoch(seconds: float) -> str:
    return _when(datetime.fromtimestamp(seconds).astimezone()) if seconds else "-"
