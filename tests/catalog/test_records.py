"""Run entries read from run.json, timestamps, metrics manifests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tether.catalog import CatalogError, Metric, RunEntry, TaskEntry, metrics_from_manifest
from tether.catalog.records import normalize_timestamp
from tether.exec.records import RunRecord


def test_from_dict_reads_the_runners_run_json(make_run):
    data = make_run(0, run_id="r1", dag="etl", tasks=3)
    entry = RunEntry.from_dict(data, storage_root="/data")
    assert (entry.run_id, entry.dag, entry.kind, entry.status) == ("r1", "etl", "dag", "success")
    assert entry.storage_root == "/data"
    assert entry.git_commit == "0123456789abcdef0123456789abcdef01234567" and entry.git_dirty is False
    assert entry.host == "worker-1" and entry.command == "tether dag etl"
    assert list(entry.tasks) == ["task_0", "task_1", "task_2"]
    assert entry.tasks["task_1"].attempts == 1
    assert "tasks" not in entry.record and entry.record["plan"] == ["task_0", "task_1", "task_2"]
    round_trip = entry.to_dict()
    assert round_trip["tasks"]["task_2"]["status"] == "success"
    assert round_trip["environment"] == data["environment"]


def test_from_dict_takes_a_record_object_too(make_run):
    record = RunRecord.from_json(__import__("json").dumps(make_run(0, run_id="r2")))
    entry = RunEntry.from_dict(record)
    assert entry.run_id == "r2" and len(entry.tasks) == 5


@pytest.mark.parametrize("data", [{}, {"run_id": ""}, {"run_id": "x", "kind": "notebook"}])
def test_bad_runs_are_refused(data):
    with pytest.raises(CatalogError):
        RunEntry.from_dict(data)


def test_timestamps_are_normalized_so_text_order_is_time_order():
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    values = [
        moment.isoformat(),
        (moment + timedelta(microseconds=500)).isoformat(),
        (moment + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5))).isoformat(),
        "2024-01-01T14:00:00Z",
    ]
    normalized = [normalize_timestamp(value) for value in values]
    assert normalized == [
        "2024-01-01T12:00:00.000000+00:00",
        "2024-01-01T12:00:00.000500+00:00",
        "2024-01-01T13:00:00.000000+00:00",
        "2024-01-01T14:00:00.000000+00:00",
    ]
    assert normalize_timestamp(datetime(2024, 1, 1)) == "2024-01-01T00:00:00.000000+00:00"
    assert normalize_timestamp("yesterday") == "yesterday"
    assert normalize_timestamp(None) is None
    assert TaskEntry("t", started_at="2024-01-01T00:00:00+00:00").started_at.endswith(".000000+00:00")


def test_metrics_from_manifest():
    metrics, params = metrics_from_manifest(
        {
            "metrics": {
                "loss": [{"value": 0.5, "step": 1, "timestamp": 10.0}, {"value": 0.25, "step": 2, "timestamp": 11.0}]
            },
            "params": {"lr": 0.1, "layers": [64, 32]},
            "artifacts": ["model.pkl"],
        }
    )
    assert metrics == [Metric("loss", 0.5, 1, 10.0), Metric("loss", 0.25, 2, 11.0)]
    assert params == {"lr": 0.1, "layers": [64, 32]}
    assert metrics_from_manifest({}) == ([], {})
