"""@stage and @aggregate: declarations, signature errors, state, Lazy, records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tether.experiments import (
    ArtifactManager,
    ExperimentParameters,
    Lazy,
    PathRef,
    PickleCacher,
    Procedure,
    Record,
    aggregate,
    stage,
)
from tether.experiments.errors import InputSignatureError, OutputSignatureError, StageError


@dataclass
class Tagged(ExperimentParameters):
    tag: str = ""


def test_inputs_missing_from_the_signature_fail_at_declaration():
    with pytest.raises(InputSignatureError, match="input\\(s\\) 'b' that its function does not take"):
        @stage(inputs=["a", "b"], outputs=["c"])
        def bad(record, a):
            return a

    @stage(inputs=["a", "b"], outputs=["c"])
    def fine(record, **inputs):
        return inputs["a"]

    with pytest.raises(InputSignatureError, match="\\(record, records, ...\\)"):
        @aggregate(outputs=["x"])
        def no_records(record):
            return 1


def test_cachers_must_match_outputs():
    with pytest.raises(StageError, match="2 output\\(s\\) but 1 cacher"):
        @stage(outputs=["a", "b"], cachers=[PickleCacher])
        def two(record):
            return 1, 2


def test_calls_are_checked(exp_project):
    manager = ArtifactManager("sig", dry=True)

    @stage(outputs=["a", "b"])
    def pair(record):
        return 1

    with pytest.raises(OutputSignatureError, match="returned 1 value\\(s\\) but declares 2"):
        pair(Record(manager, None))

    @stage(inputs=["missing"], outputs=["x"])
    def needs(record, missing):
        return missing

    with pytest.raises(StageError, match="needs input 'missing'.*run the stage that outputs it first"):
        needs(Record(manager, None))
    with pytest.raises(StageError, match="pass a Record first"):
        needs("not a record")


def test_stages_cache_and_reuse_in_a_live_manager(exp_project):
    calls = []

    @stage(outputs=["x"], cachers=[PickleCacher])
    def make(record):
        calls.append(record.args.name)
        return {"value": record.args.name}

    params = ExperimentParameters(name="one")
    manager = ArtifactManager("live")
    record = make(Record(manager, params))
    assert record.state["x"] == {"value": "one"} and record.stage_status == {"make": "ran"}
    assert manager.cache.pending == []  # a live manager files each execution at once
    again = make(Record(ArtifactManager("live"), ExperimentParameters(name="one")))
    assert calls == ["one"]
    assert again.stage_status == {"make": "cached"} and again.state["x"] == {"value": "one"}
    artifact = again.manager.artifacts[0]
    assert artifact.cached and artifact.bundle_uuid and artifact.path.endswith("_make_x.pkl")
    assert artifact.path.startswith(str(exp_project.cache))
    expected = f"live_{params.hash}_make_x.pkl"
    assert artifact.path.rsplit("/", 1)[-1] == expected


def test_lazy_outputs_stay_on_disk_until_a_stage_needs_them(exp_project):
    @stage(outputs=[Lazy("big")])
    def produce(record):
        return list(range(1000))

    @stage(inputs=["big"], outputs=["n"])
    def count(record, big):
        return len(big)

    manager = ArtifactManager("lazy")
    record = count(produce(Record(manager, ExperimentParameters(name="p"))))
    assert isinstance(dict.__getitem__(record.state, "big"), Lazy)
    assert record.state["n"] == 1000
    assert record.state["big"] == list(range(1000))


def test_path_ref_and_tracked_paths(exp_project):
    @stage(outputs=["report"], cachers=[PathRef])
    def write(record):
        path = record.get_path("report")
        with open(path, "w") as handle:
            handle.write("text")
        return path

    manager = ArtifactManager("paths")
    record = write(Record(manager, ExperimentParameters(name="p")))
    assert open(record.state["report"]).read() == "text"
    manager.cache.flush()
    again = write(Record(ArtifactManager("paths"), ExperimentParameters(name="p")))
    assert again.stage_status == {"write": "cached"}
    assert again.state["report"] == record.state["report"]


def test_aggregates_combine_records_and_inputs(exp_project):
    @stage(outputs=["score"], cachers=[PickleCacher])
    def score(record):
        return record.args.tag * 2

    @aggregate(inputs=["score"], outputs=["all"], cachers=[PickleCacher])
    def collect(record, records, score):
        return sorted(score[r] for r in records)

    manager = ArtifactManager("agg")
    records = [score(Record(manager, Tagged(name=n, tag=n))) for n in "ab"]
    final = collect(Record(manager, None), records)
    assert final.state["all"] == ["aa", "bb"]
    assert final.is_aggregate and final.input_records == records
    assert final.get_hash() != records[0].get_hash()
    manager.cache.flush()
    other = ArtifactManager("agg")
    records = [score(Record(other, Tagged(name=n, tag=n))) for n in "ab"]
    again = collect(Record(other, None), records)
    assert again.stage_status == {"collect": "cached"} and again.state["all"] == ["aa", "bb"]


def test_procedure_and_make_copy(exp_project):
    @stage(outputs=["a"])
    def first(record):
        return 1

    @stage(inputs=["a"], outputs=["b"])
    def second(record, a):
        return a + 1

    manager = ArtifactManager("proc", dry=True)
    record = Procedure([first, second], manager).run(ExperimentParameters(name="p"))
    assert record.state["b"] == 2 and record.stages == ["first", "second"]
    copy = record.make_copy(ExperimentParameters(name="q"))
    assert copy.state["b"] == 2 and copy.args.name == "q" and copy in manager.records
    assert copy.state_keys == record.state_keys
    with pytest.raises(StageError, match="not a @stage"):
        Procedure([len], manager)
