"""The report of an experiment run: `reports/<ref>/index.html`, and the fragments notebooks display.

`write_report(manager)` renders the run's reportables into the report folder,
writes the page, copies it to `reports/_latest/` and rewrites the index of all
runs (`reports/index.html`); given `store_copy`, it also copies the folder
into the run's `--store-full` folder, the copy's page linking to that folder's
log and to the folder. The page is built in a temporary folder and moved
into place, so a crash never leaves a half-written report that looks complete.
Every link is relative, and the CSS is inline (plus a copy of
`report_css_path` when set): the folder opens from disk and can be moved.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import shutil
import time
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from tether.experiments.report_graph import stage_graph_svg
from tether.experiments.report_index import replace_folder, write_runs_index
from tether.experiments.report_pages import render_page
from tether.experiments.reporting import Reportable, safe_name

__all__ = [
    "write_report",
    "info_block_html",
    "stage_graph_svg",
    "reportables_html",
    "parameter_sets_html",
    "timings_html",
]

logger = logging.getLogger("tether.experiments")

MAX_VALUE_CHARS = 300
# Bookkeeping fields of ExperimentParameters that say nothing about the experiment.
_HIDDEN_FIELDS = frozenset({"hash_representations"})


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


def record_label(record: Any) -> str:
    """How a record is named in a report: its parameter set's name, or `aggregate`."""
    args = getattr(record, "args", None)
    name = getattr(args, "name", None) if args is not None else None
    if getattr(record, "is_aggregate", False):
        return f"aggregate ({name})" if name else "aggregate"
    return str(name) if name else "record"


def record_hash(record: Any) -> str:
    """The record's hash, or an empty string when it has none yet."""
    getter = getattr(record, "get_hash", None)
    value = getter() if callable(getter) else getattr(record, "combo_hash", None)
    return str(value or "")


# --- the info block -------------------------------------------------------------------


def _row(key: str, label: str, value: str, *, raw: bool = False, css: str = "") -> str:
    cell = value if raw else escape(value)
    klass = f' class="{css}"' if css else ""
    return f'<tr data-key="{key}"{klass}><th>{escape(label)}</th><td>{cell}</td></tr>'


def info_block_html(manager: Any) -> str:
    """The run's information as an HTML table (`<table class="info">`, one `data-key` per row)."""
    info = dict(getattr(manager, "run_info", None) or {})
    timestamp = getattr(manager, "run_timestamp", None)
    commit = getattr(manager, "git_commit_hash", None) or ""
    dirty = getattr(manager, "git_workdir_dirty", None)
    rows = [
        _row("reference", "Reference", manager.get_reference_name()),
        _row("experiment", "Experiment", str(getattr(manager, "experiment_name", "") or "")),
        _row("run_number", "Run number", str(getattr(manager, "experiment_run_number", "") or "")),
        _row("timestamp", "Timestamp", timestamp.isoformat(sep=" ") if timestamp else ""),
        _row("status", "Status", str(getattr(manager, "status", "")), css=f"status-{getattr(manager, 'status', '')}"),
    ]
    error = getattr(manager, "error", None)
    if error or getattr(manager, "error_thrown", False):
        rows.append(_row("error", "Error", str(error or "an error was raised"), css="error"))
    rows += [
        _row("git_commit", "Git commit", commit or "not a git checkout"),
        _row("git_dirty", "Uncommitted changes", "unknown" if dirty is None else ("yes" if dirty else "no")),
        _row("hostname", "Host", str(getattr(manager, "hostname", "") or "")),
        _row("os", "OS", str(getattr(manager, "os", "") or "")),
        _row("python", "Python", str(info.get("python") or platform.python_version())),
        _row("run_line", "Run line", f"<code>{escape(str(getattr(manager, 'run_line', '') or ''))}</code>", raw=True),
        _row("reproduction_line", "Reproduce with",
             f"<code>{escape(str(getattr(manager, 'reproduction_line', '') or ''))}</code>", raw=True),
    ]
    notes = getattr(manager, "notes", None)
    if notes:
        rows.append(_row("notes", "Notes", f'<div class="notes">{escape(str(notes))}</div>', raw=True))
    files = getattr(manager, "param_file_param_sets", None) or {}
    if files or getattr(manager, "parameter_files", None):
        items = []
        for param_file in getattr(manager, "parameter_files", None) or list(files):
            sets = "".join(
                f"<li>{escape(str(entry[0]))} <code>{escape(str(entry[1]))}</code></li>"
                for entry in files.get(param_file, [])
            )
            items.append(f"<li>{escape(str(param_file))}<ul>{sets}</ul></li>")
        rows.append(_row("parameter_files", "Parameter files", f"<ul>{''.join(items)}</ul>", raw=True))
    return f'<table class="info">{"".join(rows)}</table>'


# --- parameter sets and timings -----------------------------------------------------------


def parameter_sets_html(records: Iterable[Any]) -> str:
    """Each distinct parameter set of `records` with its hash and field values."""
    seen: set[str] = set()
    blocks = []
    for record in records:
        args = getattr(record, "args", None)
        if args is None or getattr(record, "is_aggregate", False):
            continue
        digest = record_hash(record)
        if digest in seen:
            continue
        seen.add(digest)
        if dataclasses.is_dataclass(args):
            values = [
                (f.name, getattr(args, f.name, None)) for f in dataclasses.fields(args)
                if f.name not in _HIDDEN_FIELDS
            ]
        else:
            values = list(vars(args).items())
        rows = "".join(
            f"<tr><th>{escape(name)}</th><td><code>{escape(_short(value))}</code></td></tr>"
            for name, value in values
        )
        blocks.append(
            f'<div class="paramset" data-hash="{escape(digest)}"><h3>{escape(record_label(record))}'
            f' <code class="hash">{escape(digest)}</code></h3><table class="params">{rows}</table></div>'
        )
    return "".join(blocks) or '<p class="note">No parameter sets.</p>'


def timings_html(records: Sequence[Any]) -> str:
    """Seconds each record spent in each stage, with the stage's status, as a table."""
    stages: dict[str, None] = {}
    for record in records:
        stages.update(dict.fromkeys(getattr(record, "stages", None) or ()))
    if not stages:
        return '<p class="note">No stage ran.</p>'
    head = "".join(f"<th>{escape(stage)}</th>" for stage in stages)
    rows = []
    for record in records:
        timings = getattr(record, "stage_timings", None) or {}
        status = getattr(record, "stage_status", None) or {}
        cells = []
        for stage in stages:
            if stage not in timings and stage not in status:
                cells.append("<td></td>")
                continue
            seconds = timings.get(stage)
            text = f"{seconds:.3f}s" if isinstance(seconds, (int, float)) else ""
            state = str(status.get(stage, ""))
            cells.append(f'<td class="{escape(state)}" title="{escape(state)}">{text} {escape(state)}</td>')
        label = f"{record_label(record)} {record_hash(record)[:10]}"
        rows.append(f"<tr><th>{escape(label)}</th>{''.join(cells)}</tr>")
    return f'<table class="timings"><thead><tr><th>record</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


# --- reportables -------------------------------------------------------------------------


def _render_reportables(reportables: Sequence[Reportable], folder: Path | None) -> dict[int, str]:
    """Render each reportable and return its HTML block, by `id()`.

    With a folder, files go to `folder/reportables/<qualified name>/` and are
    linked relatively; without one, images are embedded. A reportable that
    fails shows its error instead of stopping the report.
    """
    blocks: dict[int, str] = {}
    used: set[str] = set()
    for reportable in reportables:
        name = reportable.qualified_name
        unique, n = name, 1
        while unique in used:
            n += 1
            unique = f"{name}-{n}"
        used.add(unique)
        if folder is not None:
            reportable.rendered_artifact_dir = folder / "reportables" / unique
            reportable.rendered_artifact_link = f"reportables/{unique}"
        try:
            reportable.render()
            body = reportable.html()
        except Exception as exc:  # One broken reportable must not cost the whole report.
            logger.warning("Reportable %s could not be rendered: %s: %s", unique, type(exc).__name__, exc)
            body = f'<p class="error">Could not render: {escape(type(exc).__name__)}: {escape(str(exc))}</p>'
        where = " \u00b7 ".join(
            part for part in (reportable.stage or "", record_label(reportable.record) if reportable.record else "") if part
        )
        blocks[id(reportable)] = (
            f'<div class="reportable" id="{escape(unique)}" data-name="{escape(reportable.name or "")}"'
            f' data-stage="{escape(reportable.stage or "")}"><h4>{escape(reportable.name or unique)}'
            f' <small>{escape(where)}</small></h4>{body}</div>'
        )
    return blocks


def reportables_html(reportables: list[Reportable], folder: Path | None = None) -> str:
    """The HTML of `reportables`, one block each.

    Args:
        reportables: what to show.
        folder: where to render files (under `reportables/`); the HTML links
            them relative to `folder`. Without one, images are embedded as
            data URIs, so the fragment stands alone (notebook displays).
    """
    if folder is not None:
        return "".join(_render_reportables(reportables, Path(folder)).values())
    import tempfile

    # Without a report folder, files are rendered to a scratch folder and
    # embedded as data URIs while it still exists.
    with tempfile.TemporaryDirectory(prefix="tether-reportables-") as scratch:
        for n, reportable in enumerate(reportables):
            reportable.rendered_artifact_dir = Path(scratch) / str(n)
            reportable.rendered_artifact_link = None
        return "".join(_render_reportables(reportables, None).values())


def _reportables_section(manager: Any, blocks: dict[int, str]) -> str:
    """Reportables by group, then the ungrouped ones by record and stage."""
    parts = []
    for group, members in manager.get_grouped_reportables().items():
        inner = "".join(blocks[id(r)] for r in members if id(r) in blocks)
        parts.append(
            f'<section class="group" data-group="{escape(str(group))}"><h3>{escape(str(group))}</h3>{inner}</section>'
        )
    by_record: dict[int, tuple[Any, dict[str, list[Reportable]]]] = {}
    for reportable in manager.get_ungrouped_reportables():
        _, stages = by_record.setdefault(id(reportable.record), (reportable.record, {}))
        stages.setdefault(reportable.stage or "", []).append(reportable)
    for record, stages in by_record.values():
        title = f"{record_label(record)} {record_hash(record)[:10]}" if record is not None else "no record"
        inner = "".join(
            f'<div class="stage" data-stage="{escape(stage)}"><h4 class="stage-name">{escape(stage)}</h4>'
            + "".join(blocks[id(r)] for r in members)
            + "</div>"
            for stage, members in stages.items()
        )
        parts.append(f'<section class="record"><h3>{escape(title)}</h3>{inner}</section>')
    return "".join(parts) or '<p class="note">Nothing was reported.</p>'


# --- the page ----------------------------------------------------------------------------


def _links(manager: Any, final: Path, in_store: bool = False) -> list[tuple[str, str]]:
    """Relative links from the report in `final`: the index of all runs, the run's log and its
    --store-full folder, the last two if they exist.

    Args:
        manager: the run's manager.
        final: the folder of the page.
        in_store: the page is the copy in the --store-full folder (`<folder>/report/`),
            whose links go to that folder's `run.log` and to the folder itself (there
            is no index of runs beside it).
    """
    links = []
    if in_store:
        folder: str | None = str(final.parent)
        log = os.path.join(str(final.parent), "run.log")
    else:
        links.append(("all runs", "../index.html"))
        folder = manager.get_run_staging_path() if getattr(manager, "store_full", False) else None
        log = getattr(manager, "log_path", None)
        if not log and getattr(manager, "logs_path", None):
            log = os.path.join(manager.logs_path, f"{manager.get_reference_name()}.log")
    if log and os.path.isfile(log):
        links.append(("log", os.path.relpath(log, final)))
    if folder and os.path.isdir(folder):
        links.append(("store-full folder", os.path.relpath(folder, final)))
    return links


def write_report(manager: Any, store_copy: str | os.PathLike[str] | None = None) -> Path:
    """Write `<reports_path>/<reference name>/index.html` for `manager`'s run; return that folder.

    Also replaces `<reports_path>/_latest/` with a copy and rewrites
    `<reports_path>/index.html`, the list of all runs.

    Args:
        manager: the run's manager.
        store_copy: also write a copy of the report folder here (the `report/` of
            the run's --store-full folder), its page linking to that folder's
            `run.log` and to the folder itself.
    """
    started = time.perf_counter()
    reports = Path(manager.reports_path)
    reports.mkdir(parents=True, exist_ok=True)
    ref = manager.get_reference_name()
    final = reports / ref
    scratch = reports / f".{safe_name(ref)}.{os.getpid()}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        reportables = list(getattr(manager, "reportables", None) or [])
        blocks = _render_reportables(reportables, scratch)
        css_link = None
        css_path = getattr(manager, "report_css_path", None)
        if css_path:
            if not os.path.isfile(css_path):
                logger.warning("report_css_path %s is not a file; the report uses the default style", css_path)
            else:
                shutil.copyfile(css_path, scratch / "style.css")
                css_link = "style.css"
        records = list(getattr(manager, "records", None) or [])
        values = dict(
            title=f"{ref} \u2013 tether report",
            ref=ref,
            status=str(getattr(manager, "status", "")),
            info=info_block_html(manager),
            parameter_sets=parameter_sets_html(records),
            reportables=_reportables_section(manager, blocks),
            graph=stage_graph_svg(manager),
            timings=timings_html(records),
            css_link=css_link,
        )
        page = render_page("experiment_report.html", links=_links(manager, final), **values)
        (scratch / "index.html").write_text(page, encoding="utf-8")
        replace_folder(scratch, final)
        for reportable in reportables:
            # Point at the files where they now are, for anyone who reads the attribute.
            if reportable.rendered_artifact_dir is not None:
                reportable.rendered_artifact_dir = final / Path(reportable.rendered_artifact_dir).relative_to(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if store_copy is not None:
        _write_store_copy(manager, final, Path(store_copy), values)
    _copy_latest(final, reports)
    write_runs_index(reports, current=manager, catalog=getattr(manager, "catalog", None))
    logger.debug("Report %s written in %.3fs", final, time.perf_counter() - started)
    return final


def _replace_with_copy(final: Path, target: Path, page: str | None = None) -> None:
    """Replace `target` with a copy of the report folder `final` (its `index.html` being `page` if given).

    The copy is made beside `target` and moved into place, so no half copy is ever seen there.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        shutil.copytree(final, scratch)
        if page is not None:
            (scratch / "index.html").write_text(page, encoding="utf-8")
        replace_folder(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _write_store_copy(manager: Any, final: Path, target: Path, values: dict[str, Any]) -> None:
    """Replace `target` with a copy of the report folder `final`, its page rendered from `values` with the copy's links."""
    page = render_page("experiment_report.html", links=_links(manager, target, in_store=True), **values)
    _replace_with_copy(final, target, page)


def _copy_latest(final: Path, reports: Path) -> None:
    try:
        _replace_with_copy(final, reports / "_latest")
    except OSError as exc:
        # Another run replacing _latest at the same moment wins; ours is still in <ref>/.
        logger.warning("Could not update %s: %s", reports / "_latest", exc)
