"""run_experiment: caching across runs, invalidation, overwrite, map mode, dry runs, failures."""

from __future__ import annotations

import pytest

from tether.experiments import run_experiment
from tether.experiments.errors import ExperimentFailedError
from tests.experiments.conftest import CHAIN, PARAMS


def _calls(project, name="chain"):
    module = project.module(name)
    found = list(module.calls)
    module.calls.clear()
    return found


def _statuses(manager):
    return {record.name: dict(record.stage_status) for record in manager.records}


def test_first_run_computes_and_a_rerun_loads_only_the_leaves(chain):
    first = run_experiment("chain", ["base"], report=False)
    assert first.status == "complete"
    assert sorted(_calls(chain)) == sorted(
        [(stage, name) for name in "ab" for stage in ("load", "total", "double")])
    again = run_experiment("chain", ["base"], report=False)
    assert _calls(chain) == []
    assert _statuses(again) == {
        name: {"load": "skipped", "total": "skipped", "double": "cached"} for name in "ab"
    }
    assert again.records[0].state["doubled"] == 2 * sum(range(3))
    assert again.experiment_run_number == first.experiment_run_number + 1


def test_cache_sees_code_changes_but_not_comments(chain):
    # Curifactory's cache was blind to code changes: an edited stage kept its old result.
    run_experiment("chain", ["base"], report=False)
    _calls(chain)
    chain.experiment("chain", CHAIN.replace(
        "def total(record, data):\n",
        'def total(record, data):\n    """Sum the data."""\n    # comments do not change the code\n\n'))
    run_experiment("chain", ["base"], report=False)
    assert _calls(chain) == []
    chain.experiment("chain", CHAIN.replace("return sum(data)", "return sum(data) + 1"))
    explained = run_experiment("chain", ["base"], report=False, explain=True)
    reasons = {(n.record_index, n.stage): n.explain() for n in explained.plan.nodes}
    assert reasons[(0, "total")] == "run: code changed"
    assert reasons[(0, "double")] == "run: input total changed"
    assert reasons[(0, "load")].startswith("cached: ")
    manager = run_experiment("chain", ["base"], report=False)
    assert sorted(_calls(chain)) == sorted([(s, n) for n in "ab" for s in ("total", "double")])
    assert manager.records[0].state["doubled"] == 2 * (sum(range(3)) + 1)
    assert _statuses(manager)["a"] == {"load": "cached", "total": "ran", "double": "ran"}


def test_overwrite_stage_reaches_downstream_stages(chain):
    # Curifactory's --overwrite-stage recomputed the stage but let later stages read stale caches.
    run_experiment("chain", ["base"], report=False)
    _calls(chain)
    explained = run_experiment("chain", ["base"], report=False, explain=True, overwrite_stages=["total"])
    reasons = {(n.record_index, n.stage): n.explain() for n in explained.plan.nodes}
    assert reasons[(0, "total")] == "run: overwrite"
    assert reasons[(0, "double")] == "run: input total was overwritten"
    manager = run_experiment("chain", ["base"], report=False, overwrite_stages=["total"])
    assert sorted(_calls(chain)) == sorted([(s, n) for n in "ab" for s in ("total", "double")])
    assert _statuses(manager)["b"] == {"load": "cached", "total": "ran", "double": "ran"}
    run_experiment("chain", ["base"], report=False, overwrite=True)
    assert len(_calls(chain)) == 6


def test_a_parameter_change_recomputes_only_its_records(chain):
    run_experiment("chain", ["base"], report=False)
    _calls(chain)
    chain.param_file("base", (chain.root / chain.params / "base.py").read_text().replace('name="b", n=5', 'name="b", n=6'))
    manager = run_experiment("chain", ["base"], report=False)
    assert sorted(_calls(chain)) == [("double", "b"), ("load", "b"), ("total", "b")]
    assert manager.records[1].state["doubled"] == 2 * sum(range(6))


def test_map_mode_runs_nothing(chain):
    manager = run_experiment("chain", ["base"], report=False, map_only=True)
    assert _calls(chain) == []
    assert manager.plan.counts() == {"run": 6, "cached": 0, "skipped": 0}
    assert not chain.cache.exists()


def test_a_mapped_run_learns_what_is_cached_in_one_read(chain, monkeypatch):
    from tether.catalog.experiments import ExperimentIndex

    looked_up: list[str] = []
    original = ExperimentIndex.lookup
    monkeypatch.setattr(ExperimentIndex, "lookup", lambda self, key: looked_up.append(key) or original(self, key))
    run_experiment("chain", ["base"], report=False)
    # Nothing was cached: no stage's key is read one by one.
    assert looked_up == []
    again = run_experiment("chain", ["base"], report=False)
    # Only the leaves the plan needs are read in full.
    assert sorted(looked_up) == sorted(n.key for n in again.plan.nodes if n.stage == "double")


def test_failed_experiments_are_recorded_with_their_error(chain):
    # Curifactory exited 0 after a failed experiment, and its registry did not say why.
    chain.experiment("broken", CHAIN.replace("return total * 2", "raise ValueError('bad total')"))
    with pytest.raises(ExperimentFailedError, match="in stage 'double': ValueError: bad total") as info:
        run_experiment("broken", ["base"], report=False)
    assert info.value.exit_code == 1
    from tether.catalog import default_catalog

    entry = default_catalog.list_runs(kind="experiment", dag="broken")[0]
    full = default_catalog.get_run(entry.run_id)
    assert full.status == "error"
    assert full.record["run_info"]["error"] == "ValueError: bad total"
    assert "bad total" in full.record["run_info"]["traceback"]
    # What finished before the failure (record a's first two stages) is cached.
    chain.experiment("broken", CHAIN)
    run_experiment("broken", ["base"], report=False)
    assert sorted(_calls(chain, "broken")) == [("double", "a"), ("double", "b"), ("load", "b"), ("total", "b")]


def test_dry_runs_write_nothing(chain):
    from tether.catalog import default_catalog

    manager = run_experiment("chain", ["base"], dry=True)
    assert manager.records[0].state["doubled"] == 6
    assert not chain.cache.exists()
    assert default_catalog.count_runs(kind="experiment") == 0
    assert not (chain.root / "reports").exists() and not (chain.root / "logs").exists()
    run_experiment("chain", ["base"], dry_cache=True, report=False)
    assert not chain.cache.exists() or not any(chain.cache.iterdir())
    assert default_catalog.count_runs(kind="experiment") == 1


def test_cached_outputs_are_bundles_with_lineage(chain):
    import tether.bundles as api

    manager = run_experiment("chain", ["base"], report=False)
    found = api.search("experiments", "chain.double.doubled")
    assert len(found) == 2
    bundle = found[0]
    assert bundle.tags["stage"] == "double" and bundle.tags["experiment"] == "chain"
    names = [(r.depth, r.name) for r in api.lineage("experiments", bundle.uuid)]
    assert names == [(0, "chain.double.doubled"), (1, "chain.total.total"), (2, "chain.load.data")]
    by_uuid = {a.bundle_uuid for a in manager.artifacts}
    assert bundle.uuid in by_uuid
    path = api.cat("experiments", "chain.load.data", tags={"record": bundle.tags["record"]})
    assert str(path).endswith(".pkl")


def test_names_select_parameter_sets(chain):
    manager = run_experiment("chain", ["base"], names=["b"], report=False)
    assert [r.name for r in manager.records] == ["b"]


def test_lazy_runs_keep_outputs_on_disk(chain):
    from tether.experiments import Lazy

    manager = run_experiment("chain", ["base"], lazy=True, report=False)
    record = manager.records[0]
    assert isinstance(dict.__getitem__(record.state, "doubled"), Lazy)
    assert record.state["doubled"] == 6
    memory = run_experiment("chain", ["base"], ignore_lazy=True, overwrite=True, report=False)
    assert not isinstance(dict.__getitem__(memory.records[0].state, "doubled"), Lazy)


def test_prefix_and_cache_folder_group_the_cache(chain, tmp_path):
    shared = run_experiment("chain", ["base"], prefix="shared", report=False)
    assert all(a.path.rsplit("/", 1)[-1].startswith("shared_") for a in shared.artifacts)
    _calls(chain)
    chain.experiment("other", CHAIN)
    run_experiment("other", ["base"], prefix="shared", report=False)
    assert _calls(chain, "other") == []
    elsewhere = run_experiment("chain", ["base"], cache_path=str(tmp_path / "alt"), report=False)
    assert len(_calls(chain)) == 6
    assert all(a.path.startswith(str(tmp_path / "alt")) for a in elsewhere.artifacts)


def test_a_changed_cache_file_is_not_taken_for_the_cached_one(chain):
    first = run_experiment("chain", ["base"], report=False)
    _calls(chain)
    path = next(a.path for a in first.artifacts if a.name == "doubled")
    with open(path, "w") as handle:
        handle.write("999")
    again = run_experiment("chain", ["base"], report=False)
    assert ("double", "a") in _calls(chain)
    assert again.records[0].state["doubled"] == 6


def test_without_bundles_the_cache_still_works(chain):
    import tether.bundles as api
    from tether.conf import settings

    with settings.override(EXPERIMENTS_BUNDLES=False):
        first = run_experiment("chain", ["base"], report=False)
        assert all(a.bundle_uuid is None for a in first.artifacts)
        _calls(chain)
        run_experiment("chain", ["base"], report=False)
        assert _calls(chain) == []
    assert "experiments" not in [c[0] for c in api.ls_contexts()] or api.search("experiments", "chain.*") == []


def test_reportables_of_cached_stages_are_in_the_cached_run(chain):
    chain.experiment("reporting", CHAIN.replace(
        "    return sum(data)\n",
        "    record.report(JsonReporter({'sum': sum(data)}, name='summary'))\n    return sum(data)\n",
    ).replace("import stage,", "import JsonReporter, stage,"))
    first = run_experiment("reporting", ["base"], report=False)
    assert [r.name for r in first.reportables] == ["summary", "summary"]
    _calls(chain, "reporting")
    again = run_experiment("reporting", ["base"], report=False)
    assert _calls(chain, "reporting") == []
    assert [(r.name, r.stage, r.record.name) for r in again.reportables] == [
        ("summary", "total", "a"), ("summary", "total", "b")]
    assert all(r.record.manager is again for r in again.reportables)


CURIFACTORY_STYLE = '''
import pandas as pd
from tether.experiments import (Record, stage, aggregate, PickleCacher, PandasCsvCacher, JsonCacher,
                                DFReporter)

@stage(inputs=None, outputs=["data"], cachers=[PandasCsvCacher])
def load_data(record):
    return pd.DataFrame({"x": range(record.params.n), "y": [v * record.params.n for v in range(record.params.n)]})

@stage(inputs=["data"], outputs=["model"], cachers=[PickleCacher])
def train(record, data):
    return {"slope": float(data["y"].sum() / max(data["x"].sum(), 1))}

@stage(inputs=["model", "data"], outputs=["score"], cachers=[JsonCacher])
def evaluate(record, model, data):
    record.report(DFReporter(data.head(2), name="head"))
    return model["slope"]

@aggregate(outputs=["scores"], cachers=[JsonCacher])
def compare(record, records):
    return {r.params.name: r.state["score"] for r in records}

def run(param_sets, manager):
    records = [evaluate(train(load_data(Record(manager, params)))) for params in param_sets]
    compare(Record(manager, None), records)
'''


def test_curifactory_style_code_runs_with_only_the_import_changed(chain):
    chain.experiment("style", CURIFACTORY_STYLE)
    manager = run_experiment("style", ["base"])
    assert manager.records[-1].state["scores"] == {"a": 3.0, "b": 5.0}
    report = chain.root / "reports" / manager.get_reference_name() / "index.html"
    text = report.read_text()
    assert "<svg" in text and "head" in text
    again = run_experiment("style", ["base"])
    assert again.records[-1].state["scores"] == {"a": 3.0, "b": 5.0}
    assert {s for r in again.records for s in r.stage_status.values()} <= {"cached", "skipped"}


def test_editing_a_cache_file_in_place_never_changes_its_bundle(chain):
    import tether.bundles as api

    manager = run_experiment("chain", ["base"], report=False)
    artifact = next(a for a in manager.artifacts if a.name == "doubled" and a.record.name == "a")
    with open(artifact.path, "w") as handle:
        handle.write("12345")
    bundle = api.get("experiments", "chain.double.doubled", tags={"record": artifact.record.get_hash()})
    assert bundle.uuid == artifact.bundle_uuid
    assert bundle.data.read_text() == "6"


def test_parameter_sets_default_to_the_experiment_or_its_namesake(chain):
    from tether.experiments.errors import ExperimentError

    chain.experiment("selfparams", CHAIN + PARAMS)
    manager = run_experiment("selfparams", report=False)
    assert [r.name for r in manager.records] == ["a", "b"]
    chain.experiment("lonely", CHAIN)
    with pytest.raises(ExperimentError, match="pass -p FILE"):
        run_experiment("lonely", report=False)
    chain.param_file("lonely", PARAMS)
    assert len(run_experiment("lonely", report=False).records) == 2
