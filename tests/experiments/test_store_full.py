"""`--store-full` on a local STORAGE_ROOT: the folder in place, its report copy's links, run_info.json last."""

from __future__ import annotations

import json
from pathlib import Path

from tether.experiments import run_experiment
from tests.reports.conftest import Page


def _link(page: Page, label: str) -> str:
    [link] = page.all("a", klass=f"link-{label}")
    return str(link["href"])


def test_the_report_copy_links_to_the_folder_and_its_log(chain):
    manager = run_experiment("chain", ["base"], store_full=True)
    folder = chain.root / "data" / "experiments" / manager.get_reference_name()
    copy = folder / "report"
    page = Page((copy / "index.html").read_text())
    assert (copy / _link(page, "log")).resolve() == (folder / "run.log").resolve()
    assert (copy / _link(page, "store-full-folder")).resolve() == folder.resolve()
    # The report itself still links to the run's log and to the folder from where it is.
    report = Path(manager.reports_path) / manager.get_reference_name()
    original = Page((report / "index.html").read_text())
    assert (report / _link(original, "log")).resolve() == (chain.root / "logs" / f"{manager.get_reference_name()}.log").resolve()
    assert (report / _link(original, "store-full-folder")).resolve() == folder.resolve()
    # Every link of the copy leads to a file or folder that exists; the index of runs is not beside it.
    assert (report / _link(original, "all-runs")).is_file()
    assert page.all("a", klass="link-all-runs") == []
    for link in page.all("a"):
        if link.get("href") and not str(link["href"]).startswith("#"):
            assert (copy / str(link["href"])).exists(), link
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in report.iterdir())


def test_a_local_folder_is_written_in_place_and_run_info_comes_last(chain):
    manager = run_experiment("chain", ["base"], store_full=True)
    folder = chain.root / "data" / "experiments" / manager.get_reference_name()
    assert manager.get_run_output_path() == manager.get_run_staging_path() == str(folder)
    assert manager.get_run_output_path("params.json") == str(folder / "params.json")
    assert manager.get_run_storage_path() is None
    assert not (chain.root / ".tether" / "experiments").exists()
    info = json.loads((folder / "run_info.json").read_text())
    assert info["run_folder"] == str(folder)
    written = [p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and p.name != "run_info.json"]
    assert (folder / "run_info.json").stat().st_mtime_ns >= max(written)
