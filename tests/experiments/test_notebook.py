"""`--notebook`: a valid Jupyter notebook that loads the run's records without running a stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tether.experiments import run_experiment
from tether.experiments.errors import ExperimentFailedError
from tether.experiments.notebook import notebook_path


def _code(path: Path) -> str:
    """The notebook's code cells as one script, after checking the notebook against nbformat's schema."""
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def _execute(path: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Run the notebook's code in its folder, as Jupyter would; returns each record's stage statuses."""
    script = _code(path) + "\n\nimport json\nprint(json.dumps({r.name: r.stage_status for r in manager.records}))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=path.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _env(project, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"},
            "TETHER_SETTINGS_MODULE": project.settings_module(), **extra}


def test_the_notebook_loads_every_record_from_the_cache(chain):
    manager = run_experiment("chain", ["base"], report=False, notebook=True)
    path = Path(notebook_path(manager))
    assert path == chain.root / "notebooks" / "experiments" / f"{manager.get_reference_name()}.ipynb"
    header = nbformat.read(str(path), as_version=4).cells[0].source
    assert manager.get_reference_name() in header
    for name, digest in manager.param_file_param_sets["base"]:
        assert f"{name}: `{digest}`" in header
    assert "shared" in header  # what it loads may have been replaced since
    statuses = _execute(path, _env(chain))
    assert statuses == {"a": {"load": "skipped", "total": "skipped", "double": "cached"},
                        "b": {"load": "skipped", "total": "skipped", "double": "cached"}}


def test_the_notebook_keeps_the_runs_selection_of_parameter_sets(chain):
    manager = run_experiment("chain", ["base"], names=["b"], report=False, notebook=True)
    assert list(_execute(Path(notebook_path(manager)), _env(chain))) == ["b"]


def test_the_notebook_reads_the_cache_folder_the_run_was_given(chain, tmp_path):
    manager = run_experiment("chain", ["base"], cache_path=str(tmp_path / "elsewhere"), report=False, notebook=True)
    assert not chain.cache.exists()
    statuses = _execute(Path(notebook_path(manager)), _env(chain))
    assert {stages["double"] for stages in statuses.values()} == {"cached"}


def test_a_store_full_folder_has_a_notebook_of_its_own_artifacts(chain):
    manager = run_experiment("chain", ["base"], report=False, store_full=True, notebook=True)
    folder = Path(manager.get_run_output_path())
    path = folder / f"{manager.get_reference_name()}.ipynb"
    assert (folder / "run_info.json").is_file()
    # The project's cache is gone: the folder's notebook reads the folder.
    shutil.rmtree(chain.cache)
    statuses = _execute(path, _env(chain, PYTHONPATH=str(chain.root)))
    assert set(statuses) == {"a", "b"}
    assert all(status in ("cached", "skipped") for stages in statuses.values() for status in stages.values())
    assert not chain.cache.exists() or not any(chain.cache.iterdir())


def test_a_failed_run_gets_a_notebook_that_says_so(chain):
    chain.experiment("chain", chain.root.joinpath(chain.experiments, "chain.py").read_text().replace(
        "return sum(data)", "raise ValueError('no total')"))
    with pytest.raises(ExperimentFailedError):
        run_experiment("chain", ["base"], report=False, notebook=True)
    path = next((chain.root / "notebooks" / "experiments").glob("chain_*.ipynb"))
    header = nbformat.read(str(path), as_version=4).cells[0].source
    assert "Status: error" in header and "no total" in header


def test_dry_runs_write_no_notebook(chain):
    run_experiment("chain", ["base"], report=False, notebook=True, dry=True)
    assert not (chain.root / "notebooks").exists()
