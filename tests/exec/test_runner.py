"""Runs in one process: the context is rebuilt for every run and never leaks."""

import json
from pathlib import Path

import pytest

from tether.conf import default_context
from tether.exec import DAG, Task
from tether.exec.runner import run_dag
from tether.files.storages import default_storage
from tether.ops import default_mlops

seen = []


class Remember(Task):
    def run(self):
        seen.append((default_context.meta.run_id, default_context.get("lr")))
        default_mlops.log_metric("lr", default_context.get("lr") or 0)


class Boom(Task):
    def run(self):
        raise KeyError("missing column")


class RememberDAG(DAG):
    label = "remember"
    tasks = [Remember]


class BoomDAG(DAG):
    label = "boom"
    tasks = [Remember, Boom]


@pytest.fixture(autouse=True)
def _clear():
    seen.clear()


def test_context_does_not_leak_between_runs_in_one_process(tether_settings):
    first = run_dag(RememberDAG, sets=["lr=0.1"])
    second = run_dag(RememberDAG)
    assert first.ok and second.ok
    assert seen == [(first.run_id, 0.1), (second.run_id, None)]
    assert first.run_id != second.run_id
    assert first.run_folder != second.run_folder


def test_runs_on_memory_storage(memory_storage):
    record = run_dag(RememberDAG, sets=["lr=2"])
    assert record.ok
    assert memory_storage.isfile(f"{record.run_folder}/context.yaml")
    assert memory_storage.isfile(f"{record.run_folder}/logs/remember.log")
    metrics = json.loads(memory_storage.read(f"{record.run_folder}/metrics.json"))
    assert metrics["metrics"]["lr"][0]["value"] == 2.0
    stored = json.loads(default_storage.read(f"{record.run_folder}/run.json"))
    assert stored["status"] == "success"


def test_failure_is_recorded_not_raised(tether_settings):
    record = run_dag(BoomDAG)
    assert not record.ok
    assert record.failed_task == "boom"
    assert record.error == "KeyError: 'missing column'"
    assert record.tasks["remember"].ok
    assert "--from-task boom" in record.resume


def test_interrupt_marks_the_run_interrupted(tether_settings):
    class Interrupt(Task):
        def run(self):
            raise KeyboardInterrupt

    class InterruptDAG(DAG):
        tasks = [Interrupt]

    with pytest.raises(KeyboardInterrupt):
        run_dag(InterruptDAG)
    (path,) = Path(tether_settings.STORAGE_ROOT).rglob("run.json")
    stored = json.loads(path.read_text())
    assert stored["status"] == "interrupted"
    assert stored["tasks"]["interrupt"]["status"] == "interrupted"


def test_custom_context_backend(tether_settings, tmp_path):
    from tether.conf.context import DefaultContextManager
    from tether.testing import override_settings

    class Readable(DefaultContextManager):
        def new_run_id(self):
            return "readable-run"

    import sys
    import types

    module = types.ModuleType("custom_context_backend")
    module.Readable = Readable
    sys.modules["custom_context_backend"] = module
    try:
        with override_settings(CONTEXT_BACKEND="custom_context_backend.Readable"):
            record = run_dag(RememberDAG)
    finally:
        del sys.modules["custom_context_backend"]
    assert record.run_id == "readable-run"
    assert record.run_folder.endswith("/readable-run")
    assert seen[-1][0] == "readable-run"


def test_runs_are_recorded_in_the_catalog(tether_settings):
    from tether.catalog import default_catalog

    record = run_dag(RememberDAG, sets=["lr=0.5"])
    entry = default_catalog.get_run(record.run_id[:8])
    assert entry.status == "success" and entry.dag == "remember"
    assert entry.tasks["remember"].status == "success"
    assert [m.value for m in default_catalog.get_metrics(record.run_id)] == [0.5]


def test_an_unwritable_catalog_does_not_fail_the_run(tether_settings, tmp_path, caplog):
    from tether.testing import override_settings

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with override_settings(CATALOG_URL=f"sqlite:///{blocker}/catalog.sqlite3"):
        record = run_dag(RememberDAG)
    assert record.ok
    assert "catalog rebuild" in caplog.text


def test_rerunning_everything_on_a_diamond_runs_each_task_once(tether_settings):
    """Disdat's force_all failed on diamond DAGs; a full retry of a diamond here re-runs each task once."""
    calls = []

    class Top(Task):
        def run(self):
            calls.append("top")

    class Left(Task):
        requires = (Top,)

        def run(self):
            calls.append("left")

    class Right(Task):
        requires = (Top,)

        def run(self):
            calls.append("right")

    class Bottom(Task):
        requires = (Left, Right)

        def run(self):
            calls.append("bottom")

    class DiamondForceDAG(DAG):
        tasks = [Top, Left, Right, Bottom]

    first = run_dag(DiamondForceDAG)
    again = run_dag(DiamondForceDAG, retry=first.run_folder)
    assert first.ok and again.ok
    assert calls == ["top", "left", "right", "bottom"] * 2
    assert len(again.attempts) == 2
