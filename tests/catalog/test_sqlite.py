"""The SQLite catalog's runs API: round trips, lookups, listing, parameterised SQL."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from tether.catalog import (
    AmbiguousRunError,
    CatalogError,
    Metric,
    RunEntry,
    RunNotFoundError,
    TaskEntry,
)
from tether.catalog.records import normalize_timestamp
from tether.catalog.sqlite import SQLiteCatalog, _prefix_end, list_query
from tether.exceptions import RunNotFoundError as AnyRunNotFoundError


def test_record_and_get_a_run_round_trips(catalog, make_run):
    data = make_run(0, run_id="r-1")
    catalog.record_run(data, metrics=[Metric("loss", 0.5, step=1, timestamp=1.0)], params={"lr": 0.1})
    entry = catalog.get_run("r-1")
    expected = {**data, "kind": "dag", "storage_root": None}
    for holder in (expected, *expected["tasks"].values()):
        for key in ("created_at", "started_at", "finished_at"):
            if key in holder:
                holder[key] = normalize_timestamp(holder[key])
    assert entry.to_dict() == expected
    assert entry.started_at == "2024-03-01T12:00:00.000000+00:00"
    assert list(entry.tasks) == [f"task_{n}" for n in range(5)]
    assert entry.tasks["task_3"] == TaskEntry.from_dict(data["tasks"]["task_3"])
    assert entry.git_dirty is False and entry.host == "worker-1"
    assert catalog.get_metrics("r-1") == [Metric("loss", 0.5, 1, 1.0)]
    assert catalog.get_params("r-1") == {"lr": 0.1}


def test_recording_again_updates_the_run_and_its_tasks(catalog, make_run):
    data = make_run(0, run_id="r-1", tasks=2)
    data["status"] = "running"
    data["tasks"]["task_1"]["status"] = "running"
    catalog.record_run(data)
    data["status"] = "failed"
    data["tasks"]["task_1"].update(status="failed", error="ValueError: boom", attempts=3)
    catalog.record_run(data)
    entry = catalog.get_run("r-1")
    assert entry.status == "failed"
    assert entry.tasks["task_1"].error == "ValueError: boom" and entry.tasks["task_1"].attempts == 3
    assert catalog.count_runs() == 1


def test_record_tasks_upserts_a_batch(catalog, make_run):
    catalog.record_run(make_run(0, run_id="r-1", tasks=1))
    written = catalog.record_tasks(
        "r-1",
        [TaskEntry("task_0", "failed", error="boom"), {"label": "extra", "status": "success", "attempts": 1}],
    )
    assert written == 2
    tasks = catalog.get_run("r-1").tasks
    assert list(tasks) == ["task_0", "extra"]
    assert tasks["task_0"].status == "failed" and tasks["extra"].attempts == 1


@pytest.mark.parametrize(
    "method, payload",
    [("record_tasks", [TaskEntry("t")]), ("record_metrics", [Metric("m", 1.0)]), ("record_params", {"p": 1})],
)
def test_writing_to_an_unknown_run_says_to_record_it(catalog, method, payload):
    with pytest.raises(RunNotFoundError, match="record the run"):
        getattr(catalog, method)("nope", payload)


def test_metrics_are_idempotent_and_keep_nan(catalog, make_run):
    catalog.record_run(make_run(0, run_id="r-1"))
    values = [
        {"key": "loss", "value": 1.0, "step": 0, "timestamp": 5.0},
        Metric("loss", math.nan, 1, 6.0),
        Metric("acc", 0.9),
    ]
    assert catalog.record_metrics("r-1", values) == 3
    assert catalog.record_metrics("r-1", values[:2]) == 0
    got = catalog.get_metrics("r-1")
    assert [m.key for m in got] == ["acc", "loss", "loss"]
    assert math.isnan(got[2].value)
    assert catalog.get_metrics("r-1", key="acc") == [Metric("acc", 0.9)]


def test_params_keep_json_values(catalog, make_run):
    catalog.record_run(make_run(0, run_id="r-1"))
    catalog.record_params("r-1", {"layers": [64, {"drop": 0.5}], "name": "x", "none": None})
    catalog.record_params("r-1", {"name": "y"})
    assert catalog.get_params("r-1") == {"layers": [64, {"drop": 0.5}], "name": "y", "none": None}


def test_get_run_by_unique_prefix_and_folder(catalog, make_run):
    for run_id in ("abc123", "abd456", "xyz"):
        catalog.record_run(make_run(0, run_id=run_id))
    assert catalog.get_run("abc").run_id == "abc123"
    assert catalog.get_run("  xyz ").run_id == "xyz"
    folder = catalog.get_run("xyz").run_folder
    assert catalog.get_run(f"/{folder}/").run_id == "xyz"
    ambiguous = r"'ab' matches 2 runs \(abc123, abd456\); give more characters.*`tether runs ls`"
    with pytest.raises(AmbiguousRunError, match=ambiguous):
        catalog.get_run("ab")
    with pytest.raises(RunNotFoundError, match="no run with id 'q'.*`tether runs ls`"):
        catalog.get_run("q")
    with pytest.raises(RunNotFoundError, match="in folder 'runs/2020/01/01/xyz'"):
        catalog.get_run("runs/2020/01/01/xyz")
    with pytest.raises(AnyRunNotFoundError):
        catalog.get_run("")


def test_an_exact_id_wins_over_longer_ids_it_prefixes(catalog, make_run):
    catalog.record_run(make_run(0, run_id="run"))
    catalog.record_run(make_run(1, run_id="run-2"))
    assert catalog.get_run("run").run_id == "run"
    with pytest.raises(AmbiguousRunError):
        catalog.get_run("ru")


@pytest.mark.parametrize(
    "prefix, end", [("ab", "ac"), ("a\U0010ffff", "b"), ("\U0010ffff", None), ("\ud7ff", "\ue000")]
)
def test_prefix_ranges(prefix, end):
    assert _prefix_end(prefix) == end


TRICKY = ["it's", 'say "hi"', "100%", "a_b", "a%", "%", "_", "ab", "a\\b", "x'; DROP TABLE runs; --", "ünï\U0001f600"]


def test_values_are_matched_literally(catalog, make_run):
    for index, value in enumerate(TRICKY):
        catalog.record_run(make_run(index, run_id=value, dag=value))
    assert catalog.count_runs() == len(TRICKY)
    for value in TRICKY:
        assert catalog.get_run(value).run_id == value
        assert [run.run_id for run in catalog.list_runs(dag=value)] == [value]
        assert catalog.count_runs(dag=value) == 1
    assert catalog.get_run("a\\").run_id == "a\\b"
    with pytest.raises(AmbiguousRunError, match="matches 4 runs"):
        catalog.get_run("a")
    assert catalog.get_run("a_").run_id == "a_b"
    assert catalog.get_run("10").run_id == "100%"
    assert catalog.delete_run("%") and not catalog.delete_run("%")
    assert catalog.count_runs() == len(TRICKY) - 1


def test_list_runs_newest_first_with_filters(catalog, make_run):
    for index in range(12):
        dag, status = ("a" if index % 2 else "b"), ("failed" if index % 3 == 0 else "success")
        catalog.record_run(make_run(index, run_id=f"run-{index:02d}", dag=dag, status=status))
    assert [r.run_id for r in catalog.list_runs(limit=3)] == ["run-11", "run-10", "run-09"]
    assert [r.run_id for r in catalog.list_runs(dag="a", limit=2)] == ["run-11", "run-09"]
    assert [r.run_id for r in catalog.list_runs(status="failed")] == ["run-09", "run-06", "run-03", "run-00"]
    assert [r.run_id for r in catalog.list_runs(dag="b", status="failed")] == ["run-06", "run-00"]
    assert len(catalog.list_runs(limit=None)) == 12 and catalog.list_runs(limit=0) == []
    assert catalog.list_runs(kind="experiment") == [] and len(catalog.list_runs(kind="dag")) == 12
    listed = catalog.list_runs(limit=1)[0]
    assert listed.tasks == {} and listed.record == {} and listed.host == "worker-1"
    assert catalog.count_runs(dag="a") == 6 and catalog.count_runs(status="failed", dag="b") == 2


def test_list_runs_pages_with_before(catalog, make_run):
    for index in range(7):
        catalog.record_run(make_run(index, run_id=f"run-{index}"))
    seen, before = [], None
    while page := catalog.list_runs(limit=3, before=before):
        seen += [run.run_id for run in page]
        before = page[-1].started_at
    assert seen == [f"run-{index}" for index in reversed(range(7))]
    before = datetime(2024, 3, 1, 12, 0, 2, tzinfo=timezone.utc)
    assert [r.run_id for r in catalog.list_runs(before=before)] == ["run-1", "run-0"]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"dag": "x"},
        {"status": "failed"},
        {"kind": "dag"},
        {"dag": "x", "status": "failed"},
        {"before": "2024"},
        {"dag": "x", "before": "2024"},
    ],
)
def test_listing_walks_an_index_and_never_sorts(catalog, filters):
    sql, values = list_query(**filters)
    plan = " | ".join(row[-1] for row in catalog.database.connection().execute(f"EXPLAIN QUERY PLAN {sql}", values))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_bad_list_arguments(catalog):
    with pytest.raises(CatalogError, match="limit"):
        catalog.list_runs(limit=-1)
    with pytest.raises(CatalogError, match="kind"):
        catalog.list_runs(kind="notebook")


def test_delete_run_removes_tasks_metrics_and_params(catalog, make_run):
    catalog.record_run(make_run(0, run_id="r-1"), metrics=[Metric("m", 1.0)], params={"p": 1})
    assert catalog.delete_run("r-1")
    connection = catalog.database.connection()
    for table in ("runs", "task_runs", "metrics", "params"):
        assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_record_runs_in_bulk(catalog, make_run):
    assert catalog.record_runs(make_run(index) for index in range(250)) == 250
    assert catalog.count_runs() == 250
    assert catalog.database.connection().execute("SELECT count(*) FROM task_runs").fetchone()[0] == 1250


def test_a_bad_run_in_a_bulk_write_writes_nothing(catalog, make_run):
    runs = [make_run(0), make_run(1), {"dag": "no id"}]
    with pytest.raises(CatalogError, match="no run_id"):
        catalog.record_runs(runs)
    assert catalog.count_runs() == 0


def test_entries_and_threads(catalog):
    import threading

    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for index in range(20):
                started = f"2024-01-01T00:00:{index:02d}"
                catalog.record_run(RunEntry(f"t{number}-{index}", "threads", status="success", started_at=started))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert catalog.count_runs(dag="threads") == 80


def test_close_and_reopen(tmp_path, make_run):
    catalog = SQLiteCatalog(tmp_path / "c.sqlite3")
    catalog.record_run(make_run(0, run_id="r"))
    catalog.close()
    assert catalog.get_run("r").run_id == "r"
    catalog.close()
