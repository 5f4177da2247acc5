#!/usr/bin/env python
"""Bundle budgets: creating bundles against Disdat 1.2.0, and search and lineage at scale.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_bundles.py [--quick] [--keep] [--count N]

What is measured:

1. Creating 1,000 bundles of a 100x3 float DataFrame with two tags each, one
   `Bundle(ctx, name=..., data=df, tags=...)` call per bundle (closed and visible on return),
   by tether and by Disdat 1.2.0 (`disdat.api.Bundle`, same call) in its own venv
   (`bench/.venv-disdat`, created with `pip install disdat==1.2.0` if missing). Each run is a
   fresh process with a fresh project (tether) or HOME (Disdat) under TMPDIR; the DataFrames
   are made before the clock starts. Two data sets: `distinct` (a different DataFrame per
   bundle; the budgeted one) and `same` (one DataFrame for all). Rounds alternate which tool
   goes first; figures are medians. Budget: Disdat's time / tether's time at least 10. If
   Disdat cannot be installed or run, the issue's figure of 7 ms a bundle stands in for it.
2. Search by tag over 100,000 bundles: `tether.bundles.search(ctx, search_tags=...)` for a tag
   held by 10 bundles (and two tags ANDed), the catalog bulk-loaded and reopened first.
   Budget: median at most 20 ms.
3. Lineage to depth 10: `tether.bundles.lineage(ctx, uuid, max_depth=10)` of a bundle at the
   end of a chain of 12, each also depending on a second bundle, in the same 100,000-bundle
   catalog. Budget: median at most 5 ms.

Results are printed as a table and written to bench/results/bundles.json. The exit status is 0
when every budget passes, 1 when one fails, 2 when a measurement could not be made. Options
other benchmarks take (passed on by run_all.py) are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_module
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "bundles.json"
DISDAT_VENV = BENCH_DIR / ".venv-disdat"
DISDAT_VERSION = "1.2.0"
DISDAT_REFERENCE_MS = 7.0

CREATE_COUNT = 1000
CREATE_BUDGET = 10.0
SEARCH_SIZE = 100_000
SEARCH_BUDGET_MS = 20.0
LINEAGE_BUDGET_MS = 5.0
CHAIN = 12
READ_REPEATS = 50

# One program for both tools: `tool` picks the API; the data and the loop are the same.
WORKER = r'''
import json, os, sys, time
import numpy as np, pandas as pd
tool, home, count, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if tool == "tether":
    from tether.conf import settings
    settings.configure(BASE_DIR=home)
    import tether.bundles as api
else:
    import logging, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import disdat.api as api
    api.init()
api.context("bench")
rng = np.random.default_rng(0)
frames = [pd.DataFrame(rng.random((100, 3)), columns=list("abc")) for _ in range(count if variant == "distinct" else 1)]
for index in range(5):
    api.Bundle("bench", name="warmup", data=frames[0], tags={"run": "w", "index": str(index)})
start = time.perf_counter()
for index in range(count):
    api.Bundle("bench", name=f"frame_{index % 10}", data=frames[index % len(frames)], tags={"run": "r1", "index": str(index)})
elapsed = time.perf_counter() - start
found = api.search("bench", search_tags={"run": "r1"}) if tool == "tether" else api.search("bench", tags={"run": "r1"})
print(json.dumps({"seconds": elapsed, "bundles": len(found)}))
'''


def describe(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles, p90 and extremes of timings (seconds)."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def timed(call: Callable[[], Any], repeats: int) -> list[float]:
    """Wall times of `repeats` calls after one untimed call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


# --- Disdat's venv -----------------------------------------------------------------------


def disdat_python(errors: list[str]) -> str | None:
    """The interpreter of the Disdat venv, creating the venv if needed; None if it cannot be had."""
    python = DISDAT_VENV / "bin" / "python"
    check = [str(python), "-c", "import disdat, importlib.metadata as m; print(m.version('disdat'))"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == DISDAT_VERSION:
            return str(python)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(DISDAT_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"disdat=={DISDAT_VERSION}"],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        errors.append(f"installing disdat=={DISDAT_VERSION} failed: {(exc.stderr or '').strip()[-2000:]}")
        return None
    found = subprocess.run(check, capture_output=True, text=True)
    if found.returncode != 0:
        errors.append(f"disdat=={DISDAT_VERSION} does not import: {found.stderr.strip()[-2000:]}")
        return None
    return str(python)


# --- creation ----------------------------------------------------------------------------


def run_worker(python: str, tool: str, work: Path, count: int, variant: str) -> dict[str, Any]:
    """One fresh process creating `count` bundles; returns its timing."""
    home = work / f"{tool}-{variant}-{uuid_module.uuid4().hex[:8]}"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.endswith("_SETTINGS_MODULE")}
    env.pop("PYTHONPATH", None)
    if tool == "disdat":
        env["HOME"] = str(home)
    result = subprocess.run(
        [python, "-c", WORKER, tool, str(home), str(count), variant], capture_output=True, text=True, env=env, cwd=home
    )
    if result.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{result.stderr.strip()[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["bundles"] != count:
        raise RuntimeError(f"{tool} made {data['bundles']} findable bundles, not {count}")
    shutil.rmtree(home, ignore_errors=True)
    return data


def measure_creation(work: Path, count: int, rounds: int, errors: list[str]) -> dict[str, Any]:
    disdat = disdat_python(errors)
    tools = {"tether": sys.executable}
    if disdat:
        tools["disdat"] = disdat
    results: dict[str, Any] = {}
    for variant in ("distinct", "same"):
        samples: dict[str, list[float]] = {tool: [] for tool in tools}
        for round_number in range(rounds):
            order = list(tools) if round_number % 2 == 0 else list(reversed(tools))
            for tool in order:
                try:
                    samples[tool].append(run_worker(tools[tool], tool, work, count, variant)["seconds"])
                except (RuntimeError, ValueError, OSError) as exc:
                    errors.append(str(exc))
        results[variant] = {tool: describe(times) for tool, times in samples.items() if times}
    return results


# --- search and lineage --------------------------------------------------------------------


def measure_reads(work: Path, size: int, repeats: int) -> dict[str, Any]:
    from tether.conf import settings

    settings.configure(BASE_DIR=str(work / "search-project"))
    import tether.bundles as api
    from tether.bundles.store import current_store
    from tether.catalog.bundle_records import BundleEntry

    api.context("bench")
    index = current_store().index
    start_time = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def entry(number: int, deps: dict[str, str] | None = None) -> BundleEntry:
        uuid = str(uuid_module.uuid4())
        return BundleEntry(
            uuid=uuid,
            context="bench",
            name=f"dag_{number % 20}.task_{number % 7}",
            created_at=start_time + timedelta(seconds=number),
            processing_name=f"p{number % 100}",
            owner="bench",
            presentation="DataFrame",
            manifest_path=f"bundles/contexts/bench/bundles/x/{uuid}.json",
            tags={"run": f"r{number // 10}", "kind": f"k{number % 5}"},
            dependencies=deps or {},
        )

    began = time.perf_counter()
    bulk = [entry(number) for number in range(size - 2 * CHAIN)]
    chain: list[BundleEntry] = []
    previous = None
    for step in range(CHAIN):
        side = entry(size - 2 * CHAIN + 2 * step)
        deps = {"side": side.uuid} | ({"previous": previous.uuid} if previous else {})
        node = entry(size - 2 * CHAIN + 2 * step + 1, deps)
        chain.extend((side, node))
        previous = node
    index.add_many(bulk + chain)
    load_seconds = time.perf_counter() - began
    index.database.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index.database.close()
    tag = f"r{size // 20}"
    results: dict[str, Any] = {"load_seconds": load_seconds, "size": index.count("bench")}
    checks = {
        "search_tag": (lambda: api.search("bench", search_tags={"run": tag}), 10),
        "search_two_tags": (lambda: api.search("bench", search_tags={"run": tag, "kind": "k0"}), 2),
        "search_name_latest": (lambda: api.search("bench", "dag_3.task_3", limit=1), 1),
        "get_latest": (lambda: [api.get("bench", "dag_3.task_3")], 1),
        "lineage_depth_10": (lambda: api.lineage("bench", previous.uuid, max_depth=10), 1 + 2 * 10),
        "downstream": (lambda: api.downstream("bench", chain[0].uuid), 1 + CHAIN),
    }
    for name, (call, expected) in checks.items():
        found = call()
        if len(found) != expected:
            raise RuntimeError(f"{name} found {len(found)} results, expected {expected}")
        results[name] = describe(timed(call, repeats))
    return results


# --- output --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def evaluate(creation: dict[str, Any], reads: dict[str, Any], count: int) -> dict[str, Any]:
    budgets: dict[str, Any] = {}
    distinct = creation.get("distinct", {})
    if "tether" in distinct:
        tether = distinct["tether"]["median"] / count
        disdat = distinct["disdat"]["median"] / count if "disdat" in distinct else DISDAT_REFERENCE_MS / 1e3
        ratio = disdat / tether
        budgets["create"] = {
            "tether_ms_per_bundle": tether * 1e3,
            "disdat_ms_per_bundle": disdat * 1e3,
            "disdat_measured": "disdat" in distinct,
            "ratio": ratio,
            "budget": CREATE_BUDGET,
            "pass": ratio >= CREATE_BUDGET,
        }
    if "search_tag" in reads:
        median = reads["search_tag"]["median"] * 1e3
        budgets["search"] = {"median_ms": median, "budget_ms": SEARCH_BUDGET_MS, "pass": median <= SEARCH_BUDGET_MS}
    if "lineage_depth_10" in reads:
        median = reads["lineage_depth_10"]["median"] * 1e3
        budgets["lineage"] = {"median_ms": median, "budget_ms": LINEAGE_BUDGET_MS, "pass": median <= LINEAGE_BUDGET_MS}
    return budgets


def print_table(creation: dict[str, Any], reads: dict[str, Any], budgets: dict[str, Any], count: int) -> None:
    print(f"\ncreating {count} bundles of a 100x3 DataFrame with two tags (per bundle, median of rounds)")
    for variant, tools in creation.items():
        row = "  ".join(f"{tool} {_ms(stats['median'] / count)}" for tool, stats in tools.items())
        print(f"  {variant:<9} {row}")
    print(f"\nreads over {reads.get('size', 0):,} bundles (median / p90)")
    for name, stats in reads.items():
        if isinstance(stats, dict):
            print(f"  {name:<20} {_ms(stats['median'])} / {_ms(stats['p90'])}")
    print("\nbudgets")
    if "create" in budgets:
        create = budgets["create"]
        source = "measured" if create["disdat_measured"] else f"reference {DISDAT_REFERENCE_MS} ms"
        verdict = "PASS" if create["pass"] else "FAIL"
        print(
            f"  create   {create['ratio']:5.1f}x faster than Disdat ({source}: {create['disdat_ms_per_bundle']:.2f} ms"
            f" vs {create['tether_ms_per_bundle']:.2f} ms a bundle), budget >= {CREATE_BUDGET:g}x  {verdict}"
        )
    for name in ("search", "lineage"):
        if name in budgets:
            item = budgets[name]
            verdict = "PASS" if item["pass"] else "FAIL"
            print(f"  {name:<8} {item['median_ms']:.2f} ms, budget <= {item['budget_ms']:g} ms  {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of creation, fewer read repeats")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--count", type=int, default=CREATE_COUNT, help="bundles created per run")
    parser.add_argument("--size", type=int, default=SEARCH_SIZE, help="bundles in the search catalog")
    args, _ = parser.parse_known_args(argv)
    rounds = 1 if args.quick else 3
    repeats = 20 if args.quick else READ_REPEATS
    errors: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="tether-bench-bundles-"))
    creation: dict[str, Any] = {}
    reads: dict[str, Any] = {}
    try:
        creation = measure_creation(work, args.count, rounds, errors)
        try:
            reads = measure_reads(work, args.size, repeats)
        except Exception as exc:  # a failed measurement is reported, not raised
            errors.append(f"search/lineage: {type(exc).__name__}: {exc}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    budgets = evaluate(creation, reads, args.count)
    print_table(creation, reads, budgets, args.count)
    for error in errors:
        print(f"\nerror: {error}", file=sys.stderr)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "when": datetime.now(timezone.utc).isoformat(),
                "count": args.count,
                "creation_seconds": creation,
                "reads_seconds": reads,
                "budgets": budgets,
                "errors": errors,
                "machine": {
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
                    "tmpdir": tempfile.gettempdir(),
                },
            },
            indent=2,
        )
    )
    print(f"\nwritten {RESULTS_FILE.relative_to(BENCH_DIR.parent)}")
    if errors or not budgets or len(budgets) < 3:
        return 2
    return 0 if all(item["pass"] for item in budgets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
