"""`reports/index.html`: every run with a report (and every experiment run), newest first.

The list comes from one catalog query; the report folders on disk say which
runs have a report to link to. The file is written under a temporary name and
renamed, so a reader never sees half of it. When the catalog cannot be read,
the index lists the report folders it finds, so it still opens.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from tether.experiments.report_pages import render_page

__all__ = ["write_runs_index", "replace_folder", "INDEX_LIMIT"]

logger = logging.getLogger("tether.experiments")

INDEX_LIMIT = 1000
"""The index shows at most this many runs, so that writing it stays cheap however long the history."""


def replace_folder(source: Path, target: Path) -> None:
    """Move the folder `source` to `target`, replacing what is there, with one visible switch.

    The old folder is renamed aside first and removed after the new one is in
    place, so `target` is at any moment either the whole old or the whole new folder
    (apart from the instant between the two renames).
    """
    aside = target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(target, aside)
    except FileNotFoundError:
        pass
    os.rename(source, target)
    shutil.rmtree(aside, ignore_errors=True)


def _row(entry: Any, linked: bool) -> dict[str, Any]:
    started = (entry.started_at or entry.created_at or "")[:19].replace("T", " ")
    duration = f"{entry.duration:.2f}s" if entry.duration is not None else ""
    return {
        "run_id": entry.run_id,
        "kind": entry.kind,
        "name": entry.dag,
        "status": entry.status,
        "started": started,
        "duration": duration,
        "href": f"{entry.run_id}/index.html" if linked else None,
    }


def _current_row(manager: Any, reports: set[str]) -> dict[str, Any]:
    ref = manager.get_reference_name()
    timestamp = getattr(manager, "run_timestamp", None)
    return {
        "run_id": ref,
        "kind": "experiment",
        "name": str(getattr(manager, "experiment_name", "") or ""),
        "status": str(getattr(manager, "status", "") or ""),
        "started": timestamp.strftime("%Y-%m-%d %H:%M:%S") if timestamp else "",
        "duration": "",
        "href": f"{ref}/index.html" if ref in reports else None,
    }


def write_runs_index(reports_path: str | os.PathLike[str], *, current: Any = None, catalog: Any = None) -> Path:
    """Rewrite `<reports_path>/index.html`; return its path.

    Args:
        reports_path: the reports folder.
        current: the manager of the run being reported, listed even if the
            catalog does not hold it yet.
        catalog: the catalog to read (default: `tether.catalog.default_catalog`).
    """
    from tether.catalog import default_catalog
    from tether.exceptions import TetherError

    reports = Path(reports_path)
    reports.mkdir(parents=True, exist_ok=True)
    with os.scandir(reports) as found:
        folders = {
            entry.name for entry in found
            if entry.is_dir() and not entry.name.startswith((".", "_"))
        }
    rows: list[dict[str, Any]] = []
    more = False
    try:
        entries = (catalog or default_catalog).list_runs(limit=INDEX_LIMIT + 1)
    except TetherError as exc:
        logger.warning("The runs index lists report folders only: the catalog cannot be read (%s)", exc)
        entries = None
    orphans = set(folders)
    if entries is not None:
        more = len(entries) > INDEX_LIMIT
        for entry in entries[:INDEX_LIMIT]:
            linked = entry.run_id in folders
            orphans.discard(entry.run_id)
            if linked or entry.kind == "experiment":
                rows.append(_row(entry, linked))
    if not more:
        # Reports of runs the catalog does not hold (it was rebuilt, or is
        # unreadable) are listed after the others; past the limit they cannot be told
        # from older runs, so they are left out.
        rows += [
            {"run_id": name, "kind": "", "name": "", "status": "", "started": "", "duration": "",
             "href": f"{name}/index.html"}
            for name in sorted(orphans, reverse=True)
            if os.path.isfile(reports / name / "index.html")
        ]
    if current is not None:
        # The catalog may hold an older state of the run being reported (it is
        # registered when it starts): the manager's is the one to show.
        own = _current_row(current, folders)
        at = next((n for n, row in enumerate(rows) if row["run_id"] == own["run_id"]), None)
        if at is None:
            rows.insert(0, own)
        else:
            rows[at]["status"] = own["status"]
    page = render_page("runs_index.html", title="tether reports", rows=rows, more=more, limit=INDEX_LIMIT)
    target = reports / "index.html"
    partial = reports / f".index.html.{os.getpid()}.partial"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target
