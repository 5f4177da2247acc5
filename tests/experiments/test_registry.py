"""The experiment registry in the catalog, the manager's seed surface, environment records, parallel runs."""

from __future__ import annotations

import inspect
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from tether.catalog import RunEntry, default_catalog
from tether.catalog.experiments import ExperimentIndex
from tether.experiments import ArtifactManager, run_experiment
from tests.experiments.conftest import PARAMS

SEED_ARGUMENTS = (
    "experiment_name store_full dry dry_cache prefix run_line parallel_lock parallel_mode lazy ignore_lazy notes"
    " manager_cache_path cache_path runs_path logs_path notebooks_path reports_path report_css_path"
    " status_override suppress_live_log live_log_debug disable_non_cf_loggers"
).split()
SEED_ATTRIBUTES = (
    "artifacts cache_path conda_env config current_stage_name dry dry_cache error error_thrown experiment_name"
    " experiment_run_number git_commit_hash git_workdir_dirty hostname ignore_lazy interactive lazy"
    " live_report_path_generated logs_path manager_cache_path map_mode mapped_artifacts notebooks_path notes os"
    " overwrite overwrite_stages parallel_lock parallel_mode param_file_param_sets parameter_files pip_freeze"
    " prefix records report_css_path reportables reports_path reproduction_line run_info run_line run_timestamp"
    " runs_path stage_active status store_full stored"
).split()
SEED_METHODS = (
    "display_all_reportables display_group_reportables display_info display_record_reportables"
    " display_reportable display_stage_graph display_stage_reportables generate_report get_all_param_sets"
    " get_artifact_filename get_artifact_path get_grouped_reportables get_reference_name get_run_output_path"
    " get_str_timestamp get_ungrouped_reportables lock map_records store unlock update_map_progress"
    " write_run_env_output"
).split()


def test_manager_has_the_seed_surface(exp_project):
    parameters = inspect.signature(ArtifactManager).parameters
    assert list(parameters) == SEED_ARGUMENTS
    manager = ArtifactManager("seed")
    for name in SEED_ATTRIBUTES:
        assert hasattr(manager, name), name
    for name in SEED_METHODS:
        assert callable(getattr(manager, name)), name
    assert manager.status == "LIVE" and manager.interactive
    assert re.fullmatch(r"seed_1_\d{4}-\d\d-\d\d-T\d{6}", manager.get_reference_name())


def test_display_methods_return_html_without_ipython(chain):
    manager = run_experiment("chain", ["base"], report=False)
    assert "<svg" in str(manager.display_stage_graph())
    assert isinstance(manager.display_info(), str) or hasattr(manager.display_info(), "data")


def test_full_git_hash_and_complete_pip_freeze(exp_project):
    # Curifactory truncated both: a short commit hash and the first lines of pip freeze.
    root = str(exp_project.root)
    subprocess.run(["git", "init", "-q", root], check=True)
    subprocess.run(["git", "-C", root, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    manager = ArtifactManager("env")
    assert re.fullmatch(r"[0-9a-f]{40}", manager.git_commit_hash)
    assert manager.git_workdir_dirty is True  # the experiments packages are untracked
    import importlib.metadata as metadata

    names = {d.metadata["Name"].lower() for d in metadata.distributions() if d.metadata["Name"]}
    lines = manager.pip_freeze.strip().splitlines()
    assert len(lines) == len(names) > 10
    assert any(line.startswith("pytest==") for line in lines)


def test_run_numbers_come_from_the_catalog(chain):
    first = run_experiment("chain", ["base"], report=False)
    second = run_experiment("chain", ["base"], report=False)
    assert (first.experiment_run_number, second.experiment_run_number) == (1, 2)
    entries = default_catalog.list_runs(kind="experiment")
    assert [e.run_id for e in entries] == [second.get_reference_name(), first.get_reference_name()]
    full = default_catalog.get_run(first.get_reference_name())
    assert full.kind == "experiment" and full.dag == "chain" and full.status == "complete"
    info = full.record["run_info"]
    assert info["run_number"] == 1 and info["params"] == first.param_file_param_sets
    assert info["reference"] == first.get_reference_name()


def _register_seconds(index: ExperimentIndex, samples: int) -> float:
    times = []
    for _ in range(samples):
        entry = RunEntry(run_id="bench_{number}_t", dag="bench", kind="experiment", status="complete")
        started = time.perf_counter()
        index.register_run(entry)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 4]


def test_registering_a_run_costs_the_same_with_20000_past_runs(exp_project):
    # Curifactory rewrote its whole store.json on every run: 25 s a run at 20,000 runs.
    index = ExperimentIndex(default_catalog.database)
    empty = _register_seconds(index, 30)
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    default_catalog.record_runs(
        RunEntry(run_id=f"bench_{n}_old", dag="bench", kind="experiment", status="complete",
                 started_at=start + timedelta(seconds=n), record={"run_info": {"notes": "x" * 200}})
        for n in range(100, 20_100)
    )
    full = _register_seconds(index, 30)
    assert default_catalog.count_runs(kind="experiment") == 20_060
    assert full < max(3 * empty, empty + 0.002), (empty, full)


def test_a_missing_counter_continues_after_recorded_runs(exp_project):
    index = ExperimentIndex(default_catalog.database)
    default_catalog.record_runs(RunEntry(run_id=f"old_{n}", dag="old", kind="experiment") for n in range(3))
    number = index.register_run(RunEntry(run_id="old_{number}_x", dag="old", kind="experiment"))
    assert number == 4
    assert default_catalog.get_run("old_4_x").record["run_info"]["run_number"] == 4


AGGREGATE = '''
import os
from tether.experiments import stage, aggregate, Record, PickleCacher

LOG = os.environ.get("AGG_LOG", "")

def note(text):
    with open(LOG, "a") as handle:
        handle.write(text + "\\n")

@stage(outputs=["value"], cachers=[PickleCacher])
def compute(record):
    note(f"compute {record.args.name} {os.getpid()}")
    return record.args.n

@aggregate(outputs=["sum"], cachers=[PickleCacher])
def combine(record, records):
    note(f"combine {os.getpid()}")
    return sum(r.state["value"] for r in records)

def run(param_sets, manager):
    records = [compute(Record(manager, p)) for p in param_sets]
    combine(Record(manager, None), records)
'''


def test_parallel_workers_compute_each_stage_once_and_aggregates_once(exp_project, tmp_path, monkeypatch):
    # Curifactory's parallel workers each computed the aggregates too.
    log = tmp_path / "calls.log"
    monkeypatch.setenv("AGG_LOG", str(log))
    exp_project.param_file("many", PARAMS.replace(
        'return [Params(name="a", n=3), Params(name="b", n=5)]',
        "return [Params(name=f's{i}', n=i) for i in range(6)]"))
    exp_project.experiment("agg", AGGREGATE)
    manager = run_experiment("agg", ["many"], parallel=2, report=False)
    lines = log.read_text().splitlines()
    computes = [line for line in lines if line.startswith("compute")]
    assert sorted(line.split()[1] for line in computes) == [f"s{i}" for i in range(6)]
    assert len({line.split()[2] for line in computes}) == 2
    combines = [line for line in lines if line.startswith("combine")]
    assert len(combines) == 1
    assert manager.records[-1].state["sum"] == sum(range(6))


@pytest.mark.parametrize("store_full", [True])
def test_store_full_folder_contents(chain, store_full):
    manager = run_experiment("chain", ["base"], store_full=store_full, report=False)
    folder = chain.root / "data" / "experiments" / manager.get_reference_name()
    names = {p.name for p in folder.iterdir()}
    assert {"artifacts", "params.json", "params.pkl", "requirements.txt", "environment.json",
            "run_info.json", "run.log", "reproduce.sh"} <= names
    artifacts = {p.name for p in (folder / "artifacts").iterdir()}
    assert "cache_index.json" in artifacts
    assert len([n for n in artifacts if n.endswith(".pkl") or n.endswith(".json")]) == 7
    assert (folder / "requirements.txt").read_text() == manager.pip_freeze
    assert manager.reproduction_line.startswith(f"cd {folder}")
    entry = default_catalog.get_run(manager.get_reference_name())
    assert entry.run_folder == f"experiments/{manager.get_reference_name()}"
