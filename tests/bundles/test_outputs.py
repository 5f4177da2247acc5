"""A DAG task's outputs become the bundle `<dag>.<task>`, with lineage to what it read."""

import pandas as pd
import pytest

from tether import bundles as api
from tether.exec import DAG, Task
from tether.exec.runner import run_dag
from tether.files.data import data_manager
from tether.files.storages import default_storage
from tether.testing import override_settings


class Source(Task):
    def run(self):
        data_manager.write("raw.csv", pd.DataFrame({"x": [1, 2, 3]}))


class Left(Task):
    requires = (Source,)

    def run(self):
        data_manager.write("left.parquet", data_manager.read("raw.csv") * 2)


class Right(Task):
    requires = (Source,)

    def run(self):
        data_manager.write("right.parquet", data_manager.read("raw.csv") + 1)
        default_storage.read("reference.txt")


class Join(Task):
    requires = (Left, Right)

    def run(self):
        both = data_manager.read("left.parquet") + data_manager.read("right.parquet")
        data_manager.write("joined.parquet", both)


class Quiet(Task):
    requires = (Join,)

    def run(self):
        pass


class DiamondDAG(DAG):
    label = "diamond"
    tasks = [Source, Left, Right, Join, Quiet]


@pytest.fixture
def diamond(tether_settings):
    default_storage.touch("reference.txt", "shared input")
    return tether_settings


def bundles_of(run_id):
    return {b.tags["task"]: b for b in api.search(api.current_context(), search_tags={"run_id": run_id})}


def test_each_writing_task_makes_a_bundle_with_lineage(diamond):
    record = run_dag(DiamondDAG)
    assert record.ok
    made = bundles_of(record.run_id)
    assert set(made) == {"source", "left", "right", "join"}  # quiet wrote nothing
    join = made["join"]
    assert join.name == "diamond.join"
    assert join.tags == {"run_id": record.run_id, "dag": "diamond", "task": "join"}
    assert join.params["outputs"] == ["joined.parquet"]
    records = api.lineage(api.current_context(), join.uuid)
    by_name = {r.name: r for r in records}
    assert by_name["diamond.join"].depends_on == {
        "left.parquet": made["left"].uuid, "right.parquet": made["right"].uuid,
    }
    # The diamond's top is reached through both sides and listed once.
    assert [r.name for r in records].count("diamond.source") == 1
    assert by_name["diamond.source"].depth == 2
    assert made["right"].params["inputs"] == ["reference.txt"]
    frame = api.cat(api.current_context(), "diamond.join")
    assert list(frame) == ["joined.parquet"]


def test_a_resumed_task_depends_on_the_bundles_of_the_earlier_attempt(diamond):
    first = run_dag(DiamondDAG)
    again = run_dag(DiamondDAG, retry=first.run_folder, from_task="join")
    assert again.ok
    versions = api.search(api.current_context(), "diamond.join")
    assert len(versions) == 2
    made = bundles_of(first.run_id)
    latest = api.get(api.current_context(), "diamond.join")
    assert set(latest.dependencies.values()) == {made["left"].uuid, made["right"].uuid}


def test_task_hooks_can_be_turned_off(diamond):
    with override_settings(TASK_HOOKS=[]):
        record = run_dag(DiamondDAG)
    assert record.ok
    assert bundles_of(record.run_id) == {}


def test_get_accepts_a_unique_uuid_prefix(tether_settings):
    from tether.bundles import BundleError

    api.context("prefixes")
    made = [api.Bundle("prefixes", name=f"b{i}", data=i) for i in range(20)]
    first = made[0]
    assert api.get("prefixes", uuid=first.uuid[:12]).uuid == first.uuid
    assert api.get("prefixes", uuid=first.uuid).uuid == first.uuid
    with pytest.raises(BundleError, match="matches several bundles"):
        api.get("prefixes", uuid="")
    assert api.get("prefixes", uuid="zzzz") is None
