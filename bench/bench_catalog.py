#!/usr/bin/env python
"""The catalog's cost of recording a run, as history grows.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_catalog.py [--quick] [--keep]

What is measured (one SQLite catalog per history size, in a temporary folder):

1. `record_run` of a 5-task run (the dictionary of its run.json, as the runner writes it)
   into catalogs that already hold 0, 10,000 and 100,000 such runs. The histories are
   bulk-loaded with `record_runs` (one transaction, executemany), checkpointed, and reopened.
   The catalogs are then measured in rounds, one call each per round, in rotating order, so
   that the machine's drift touches every size alike. Budget: median at 100,000 at most 1.5x
   the median at 0 (the issue asks for a flat cost).
2. `list_runs(limit=50)`, `list_runs(dag=..., limit=50)`, `get_run(<8-character prefix>)`
   and `count_runs()` at each size (reported).

Results are printed as a table and written to bench/results/catalog.json. The exit status is
0 when the budget passes, 1 when it fails, 2 when a measurement could not be made. Options
that other benchmarks take (passed on by run_all.py) are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "catalog.json"

LEVELS = (0, 10_000, 100_000)
TASKS = 5
DAGS = 20
BUDGET_RATIO = 1.5
SAMPLES, QUICK_SAMPLES = 600, 200
WARMUP = 30
READ_REPEATS = 50

HISTORY_START = datetime(2023, 1, 1, tzinfo=timezone.utc)


def run_json(index: int, started: datetime) -> dict[str, Any]:
    """A run.json of a successful 5-task run, as `tether.exec.records.RunRecord.to_json` writes it."""
    run_id = str(uuid.uuid4())
    folder = f"runs/{started:%Y/%m/%d}/{run_id}"
    dag = f"dag_{index % DAGS}"
    labels = [f"task_{number}" for number in range(TASKS)]
    stamp = started.isoformat()
    return {
        "run_id": run_id,
        "run_folder": folder,
        "dag": dag,
        "status": "success",
        "created_at": stamp,
        "started_at": stamp,
        "finished_at": (started + timedelta(seconds=1)).isoformat(),
        "duration": 1.0,
        "plan": labels,
        "tasks": {
            label: {
                "label": label,
                "status": "success",
                "started_at": (started + timedelta(milliseconds=number)).isoformat(),
                "finished_at": (started + timedelta(milliseconds=number + 1)).isoformat(),
                "duration": 0.001,
                "attempts": 1,
                "error": None,
            }
            for number, label in enumerate(labels)
        },
        "failed_task": None,
        "error": None,
        "command": f"tether dag {dag}",
        "reproduce": f"tether dag {dag} --retry {folder}",
        "resume": None,
        "environment": {
            "host": "bench-host",
            "user": "bench",
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "platform": platform.platform(),
            "tether_version": "0.1.0",
            "cwd": "/srv/project",
            "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": False},
        },
        "attempts": [],
    }


def history(count: int) -> Iterator[dict[str, Any]]:
    """`count` past runs, one a minute from HISTORY_START."""
    for index in range(count):
        yield run_json(index, HISTORY_START + timedelta(minutes=index))


def describe(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles, mean and extremes of timings in seconds."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
    }


def timed(call: Callable[[], Any], repeats: int) -> list[float]:
    """Wall times of `repeats` calls (after one untimed call)."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def build(path: Path, size: int) -> dict[str, Any]:
    """Bulk-load `size` runs into a new catalog at `path`; returns what it cost."""
    from tether.catalog.sqlite import SQLiteCatalog

    catalog = SQLiteCatalog(path)
    started = time.perf_counter()
    catalog.record_runs(history(size))
    loaded = time.perf_counter() - started
    catalog.database.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    catalog.close()
    return {"runs": size, "load_seconds": loaded, "file_bytes": path.stat().st_size}


def measure(paths: dict[int, Path], samples: int) -> dict[int, dict[str, Any]]:
    """Time record_run in every catalog, round-robin, and the reads at each size."""
    from tether.catalog.sqlite import SQLiteCatalog

    catalogs = {size: SQLiteCatalog(path) for size, path in paths.items()}
    now = datetime.now(timezone.utc)
    counter = 0

    def fresh() -> dict[str, Any]:
        nonlocal counter
        counter += 1
        return run_json(counter, now + timedelta(microseconds=counter))

    for catalog in catalogs.values():
        for _ in range(WARMUP):
            catalog.record_run(fresh())
    times: dict[int, list[float]] = {size: [] for size in catalogs}
    order = list(catalogs)
    for round_number in range(samples):
        shift = round_number % len(order)
        for size in order[shift:] + order[:shift]:
            run = fresh()
            started = time.perf_counter()
            catalogs[size].record_run(run)
            times[size].append(time.perf_counter() - started)

    results: dict[int, dict[str, Any]] = {}
    for size, catalog in catalogs.items():
        newest = catalog.list_runs(limit=1)[0]
        results[size] = {
            "record_run": describe(times[size]),
            "list_runs_50": describe(timed(lambda: catalog.list_runs(limit=50), READ_REPEATS)),
            "list_runs_dag_50": describe(timed(lambda: catalog.list_runs(dag="dag_7", limit=50), READ_REPEATS)),
            "get_run_prefix": describe(timed(lambda: catalog.get_run(newest.run_id[:8]), READ_REPEATS)),
            "count_runs": describe(timed(catalog.count_runs, 10)),
        }
        catalog.close()
    return results


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def print_table(built: dict[int, dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """The figures, one row per history size."""
    header = (
        f"{'history':>9}  {'load':>8}  {'record_run p50':>15}  {'p90':>9}  {'list 50':>9}"
        f"  {'list dag':>9}  {'get prefix':>10}  {'count':>9}"
    )
    print(header)
    print("-" * len(header))
    for size, figures in results.items():
        print(
            f"{size:>9,}  {built[size]['load_seconds']:>7.1f}s  {_us(figures['record_run']['median']):>15}"
            f"  {_us(figures['record_run']['p90']):>9}  {_ms(figures['list_runs_50']['median']):>9}"
            f"  {_ms(figures['list_runs_dag_50']['median']):>9}  {_ms(figures['get_run_prefix']['median']):>10}"
            f"  {_ms(figures['count_runs']['median']):>9}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Build the catalogs, measure, print, write the JSON; the exit status tells the budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLES} samples per size instead of {SAMPLES}")
    parser.add_argument("--samples", type=int, help="record_run calls timed per size")
    parser.add_argument("--keep", action="store_true", help="keep the temporary catalogs and print where")
    args, ignored = parser.parse_known_args(argv)
    samples = args.samples or (QUICK_SAMPLES if args.quick else SAMPLES)
    sys.path.insert(0, str(BENCH_DIR.parent))
    import tether

    workdir = Path(tempfile.mkdtemp(prefix="tether-bench-catalog-"))
    try:
        paths = {size: workdir / f"catalog-{size}.sqlite3" for size in LEVELS}
        built = {}
        for size, path in paths.items():
            print(f"loading {size:,} runs ...", flush=True)
            built[size] = build(path, size)
        print(f"timing record_run: {samples} calls per catalog, round-robin ...", flush=True)
        results = measure(paths, samples)
    except Exception as exc:  # a measurement that cannot be made is exit 2, with the reason
        print(f"measurement failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"catalogs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    base, top = results[LEVELS[0]]["record_run"]["median"], results[LEVELS[-1]]["record_run"]["median"]
    ratio = top / base
    passed = ratio <= BUDGET_RATIO
    print()
    print_table(built, results)
    print()
    print(
        f"record_run at {LEVELS[-1]:,} / at {LEVELS[0]}: {ratio:.2f}x (budget <= {BUDGET_RATIO}x)"
        f"  {'PASS' if passed else 'FAIL'}"
    )
    print(f"list_runs(limit=50) at {LEVELS[-1]:,}: {_ms(results[LEVELS[-1]]['list_runs_50']['median'])}")
    if ignored:
        print(f"(ignored options: {' '.join(ignored)})")

    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "when": datetime.now(timezone.utc).isoformat(),
                "tether_version": tether.__version__,
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
                "samples": samples,
                "tasks_per_run": TASKS,
                "budget_ratio": BUDGET_RATIO,
                "ratio": ratio,
                "passed": passed,
                "catalogs": {str(size): {**built[size], **results[size]} for size in LEVELS},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results written to {RESULTS_FILE.relative_to(BENCH_DIR.parent)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
