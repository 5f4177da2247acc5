#!/usr/bin/env python
"""Experiment budgets: tether.experiments against Curifactory 0.20.5, same experiment, same run.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_experiments.py [--quick] [--keep]

What is measured (each tool in its own project under TMPDIR, each sample a fresh process, the
experiment's modules imported before the clock starts; figures are medians):

1. Cached re-run: experiment `bench`, 100 parameter sets through a chain of 20 stages, each
   stage `@stage(inputs=[prev], outputs=[next], cachers=[PickleCacher])` returning its input
   plus one. A first run fills the cache; then `run_experiment("bench", ["bench"])` is timed
   again, with the report (budgeted) and without. Curifactory 0.20.5 runs in
   `bench/.venv-curifactory` (created with `pip install curifactory==0.20.5` if missing),
   with `curifactory.experiment.run_experiment`; the experiment's source differs only in its
   import lines. Budget: Curifactory's time / tether's time, report included, at least 5.
2. Overhead per executed stage: (cold run of 100 sets x 20 stages - cold run of 100 sets x 1
   stage) / (100 x 19), no report, a fresh project per sample; 5 rounds, in each of which
   tether, tether without bundles and Curifactory are sampled in turn (the order
   alternating). Everything a stage execution costs is in it: the cache lookup, pickling
   the output to its file, and (tether) filing the bundles and cache rows, in batches
   that a forked filer records while the stages go on (on a machine with two cores or
   more), the last one at the end of the run.
   Budget: tether at most 0.15 ms (Curifactory: 0.53 ms in the issue's measurement). Also
   shown with `EXPERIMENTS_BUNDLES = False` (cache index only, no bundles filed).
3. Registering a run with 20,000 past runs: tether `ArtifactManager.store()` (which takes the
   run number and records the run in the catalog) on a catalog holding 0 and 20,000
   experiment runs; Curifactory `ArtifactManager.store()` on a `store.json` holding 0 and
   20,000 runs. Budget: tether's time at 20,000 at most 2x its time at 0 (flat).

The projects are made under TMPDIR, or under `--tmp DIR`: `--tmp /dev/shm` (tmpfs)
measures what the tools themselves cost, without the disk, whose latency for creating a
file varies here from 0.03 to 0.6 ms from minute to minute. Each sample starts after
`os.sync()`, so that what earlier samples wrote is not flushed during it.

Results are printed and written to bench/results/experiments.json. Exit status: 0 when every
budget passes, 1 when one fails, 2 when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "experiments.json"
CURI_VENV = BENCH_DIR / ".venv-curifactory"
CURI_VERSION = "0.20.5"
SETS = 100
STAGES = 20
CACHED_RATIO_BUDGET = 5.0
OVERHEAD_BUDGET_MS = 0.15
REGISTRY_FLAT_BUDGET = 2.0
PAST_RUNS = 20_000
OVERHEAD_ROUNDS = 5


def experiment_source(tool: str, stages: int) -> str:
    """The experiment module: `stages` chained stages with pickle cachers."""
    if tool == "tether":
        head = "from tether.experiments import Record, stage, PickleCacher\n"
    else:
        head = "from curifactory import Record, stage\nfrom curifactory.caching import PickleCacher\n"
    body = [head]
    for index in range(stages):
        inputs = f'inputs=["v{index - 1}"], ' if index else ""
        argument = f", v{index - 1}" if index else ""
        value = f"v{index - 1} + 1" if index else "record.params.i"
        body.append(
            f'@stage({inputs}outputs=["v{index}"], cachers=[PickleCacher])\n'
            f"def s{index}(record{argument}):\n    return {value}\n"
        )
    calls = "record"
    for index in range(stages):
        calls = f"s{index}({calls})"
    body.append(
        "def run(param_sets, manager):\n"
        "    for params in param_sets:\n"
        "        record = Record(manager, params)\n"
        f"        {calls.replace('(record)', '(record)', 1)}\n"
    )
    return "\n".join(body)


def params_source(tool: str, sets: int) -> str:
    module = "tether.experiments" if tool == "tether" else "curifactory"
    return textwrap.dedent(f"""
        from dataclasses import dataclass
        from {module} import ExperimentParameters

        @dataclass
        class Params(ExperimentParameters):
            i: int = 0

        def get_params():
            return [Params(name=f"p{{i}}", i=i) for i in range({sets})]
    """)


def make_project(root: Path, tool: str, stages: int, sets: int) -> Path:
    """A project folder for `tool` with experiments/bench.py and params/bench.py."""
    root.mkdir(parents=True)
    for package in ("experiments", "params"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    (root / "experiments" / "bench.py").write_text(experiment_source(tool, stages))
    (root / "params" / "bench.py").write_text(params_source(tool, sets))
    if tool == "curifactory":
        (root / "curifactory_config.json").write_text(json.dumps({}))
    return root


WORKER = r'''
import json, os, sys, time, logging
tool, root, mode = sys.argv[1], sys.argv[2], sys.argv[3]
bundles = "nobundles" not in sys.argv[4:]
os.chdir(root)
sys.path.insert(0, root)
if tool == "tether":
    from tether.conf import settings
    settings.configure(BASE_DIR=root, STORAGE_ROOT=os.path.join(root, "data"), EXPERIMENTS_BUNDLES=bundles)
    from tether.experiments import run_experiment
    def go(report):
        run_experiment("bench", ["bench"], report=report)
else:
    import warnings
    warnings.filterwarnings("ignore")
    from curifactory.experiment import run_experiment
    def go(report):
        # Curifactory returns normally from a failed experiment: check its manager.
        _, manager = run_experiment("bench", ["bench"], report=report, quiet=True, no_color=True, plain=True)
        if manager.error_thrown:
            raise SystemExit(f"curifactory run failed: {manager.error}")
    logging.disable(logging.CRITICAL)
import experiments.bench, params.bench  # imported before the clock, as tether's are
if mode == "fill":
    go(False)
    print(json.dumps({"seconds": 0}))
    sys.exit(0)
report = mode == "report"
started = time.perf_counter()
go(report)
print(json.dumps({"seconds": time.perf_counter() - started}))
'''

REGISTRY_WORKER = r'''
import json, os, sys, time, logging
tool, root, past = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.chdir(root)
sys.path.insert(0, root)
samples = []
if tool == "tether":
    from tether.conf import settings
    settings.configure(BASE_DIR=root, STORAGE_ROOT=os.path.join(root, "data"))
    from datetime import datetime, timedelta, timezone
    from tether.catalog import RunEntry, default_catalog
    from tether.experiments import ArtifactManager
    if past:
        start = datetime(2020, 1, 1, tzinfo=timezone.utc)
        default_catalog.record_runs(
            RunEntry(run_id=f"bench_{n}_old", dag="bench", kind="experiment", status="complete",
                     started_at=start + timedelta(seconds=n), record={"run_info": {"notes": "x" * 300}})
            for n in range(past))
    for _ in range(15):
        manager = ArtifactManager("bench", status_override="incomplete")
        manager.pip_freeze = ""
        started = time.perf_counter()
        manager.store()
        samples.append(time.perf_counter() - started)
else:
    logging.disable(logging.CRITICAL)
    from curifactory.manager import ArtifactManager
    os.makedirs("data", exist_ok=True)
    runs = [{"reference": f"bench_{n}_t", "experiment_name": "bench", "run_number": n, "timestamp": "t",
             "commit": "", "workdir_dirty": False, "param_files": ["bench"], "params": {"bench": [["p", "h"]]},
             "full_store": False, "status": "complete", "cli": "experiment bench -p bench", "hostname": "h",
             "notes": "x" * 300} for n in range(past)]
    with open(os.path.join("data", "store.json"), "w") as handle:
        json.dump(runs, handle, indent=4)
    for _ in range(3 if past else 15):
        manager = ArtifactManager("bench", status_override="incomplete", suppress_live_log=True)
        started = time.perf_counter()
        manager.store()
        samples.append(time.perf_counter() - started)
samples.sort()
print(json.dumps({"seconds": samples[len(samples) // 2]}))
'''


def python_for(tool: str) -> str:
    return sys.executable if tool == "tether" else str(CURI_VENV / "bin" / "python")


def ensure_curifactory() -> str | None:
    """The venv's Curifactory version (installing it if missing), or None if it cannot be had."""
    python = CURI_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CURI_VENV)], check=False)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"curifactory=={CURI_VERSION}"], check=False)
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('curifactory'))"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def run_worker(tool: str, program: str, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    # What earlier samples wrote goes to disk now, not during this one.
    os.sync()
    done = subprocess.run([python_for(tool), "-c", program, tool, *args], capture_output=True, text=True,
                          env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed: {done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def measure_cached(base: Path, tool: str, rounds: int) -> dict[str, float]:
    root = make_project(base / f"{tool}-cached", tool, STAGES, SETS)
    run_worker(tool, WORKER, str(root), "fill")
    report = [run_worker(tool, WORKER, str(root), "report") for _ in range(rounds)]
    plain = [run_worker(tool, WORKER, str(root), "plain") for _ in range(rounds)]
    return {"with_report": statistics.median(report), "without_report": statistics.median(plain)}


def overhead_sample(base: Path, tool: str, index: int, *extra: str) -> float:
    """One sample of the overhead per executed stage (ms): a cold 20-stage run less a cold 1-stage run."""
    tag = "-".join(extra)
    long = make_project(base / f"{tool}-cold20-{index}{tag}", tool, STAGES, SETS)
    short = make_project(base / f"{tool}-cold1-{index}{tag}", tool, 1, SETS)
    seconds_long = run_worker(tool, WORKER, str(long), "plain", *extra)
    seconds_short = run_worker(tool, WORKER, str(short), "plain", *extra)
    return (seconds_long - seconds_short) / (SETS * (STAGES - 1)) * 1000


def measure_overheads(base: Path, rounds: int) -> dict[str, float]:
    """Median overheads per executed stage (ms), the variants sampled in turn in each round.

    Interleaving keeps a slow spell of the disk from landing on one tool only.
    """
    variants = {"tether": ("tether",), "tether_no_bundles": ("tether", "nobundles"), "curifactory": ("curifactory",)}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(rounds):
        order = list(variants) if index % 2 == 0 else list(reversed(variants))
        for name in order:
            tool, *extra = variants[name]
            samples[name].append(overhead_sample(base, tool, index, *extra))
    return {name: statistics.median(values) for name, values in samples.items()}


def measure_registry(base: Path, tool: str, past: int) -> float:
    root = make_project(base / f"{tool}-registry-{past}", tool, 1, 1)
    return run_worker(tool, REGISTRY_WORKER, str(root), str(past))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    parser.add_argument("--tmp", metavar="DIR", help="make the projects in DIR (default: TMPDIR)")
    args, _ = parser.parse_known_args(argv)
    rounds = 1 if args.quick else 3
    version = ensure_curifactory()
    if version is None:
        print("Curifactory could not be installed in bench/.venv-curifactory", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="tether-bench-exp-", dir=args.tmp))
    results: dict[str, Any] = {"curifactory_version": version, "sets": SETS, "stages": STAGES,
                               "projects_in": str(base.parent)}
    try:
        for tool in ("tether", "curifactory"):
            results[f"{tool}_cached"] = measure_cached(base, tool, rounds)
            results[f"{tool}_register_0"] = measure_registry(base, tool, 0)
            results[f"{tool}_register_{PAST_RUNS}"] = measure_registry(base, tool, PAST_RUNS)
        overheads = measure_overheads(base, 1 if args.quick else OVERHEAD_ROUNDS)
        results["tether_overhead_ms"] = overheads["tether"]
        results["tether_overhead_no_bundles_ms"] = overheads["tether_no_bundles"]
        results["curifactory_overhead_ms"] = overheads["curifactory"]
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"measurement failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"projects kept in {base}")
    ours, theirs = results["tether_cached"], results["curifactory_cached"]
    ratio = theirs["with_report"] / ours["with_report"]
    ratio_plain = theirs["without_report"] / ours["without_report"]
    flat = results[f"tether_register_{PAST_RUNS}"] / results["tether_register_0"]
    checks = {
        "cached re-run, report included (ratio)": (ratio, ratio >= CACHED_RATIO_BUDGET, f">= {CACHED_RATIO_BUDGET}"),
        "overhead per executed stage (ms)": (results["tether_overhead_ms"],
                                             results["tether_overhead_ms"] <= OVERHEAD_BUDGET_MS,
                                             f"<= {OVERHEAD_BUDGET_MS}"),
        f"register at {PAST_RUNS} / at 0 runs": (flat, flat <= REGISTRY_FLAT_BUDGET, f"<= {REGISTRY_FLAT_BUDGET}"),
    }
    results["ratios"] = {"cached_with_report": ratio, "cached_without_report": ratio_plain, "registry_flat": flat}
    print(f"Curifactory {version}, {SETS} parameter sets x {STAGES} stages, pickle cachers")
    print(f"{'measure':<44}{'tether':>12}{'curifactory':>14}")
    rows = [
        ("cached re-run with report (s)", ours["with_report"], theirs["with_report"]),
        ("cached re-run without report (s)", ours["without_report"], theirs["without_report"]),
        ("overhead per executed stage (ms)", results["tether_overhead_ms"], results["curifactory_overhead_ms"]),
        ("  same, EXPERIMENTS_BUNDLES = False (ms)", results["tether_overhead_no_bundles_ms"],
         results["curifactory_overhead_ms"]),
        ("register a run, 0 past runs (ms)", results["tether_register_0"] * 1000,
         results["curifactory_register_0"] * 1000),
        (f"register a run, {PAST_RUNS} past runs (ms)", results[f"tether_register_{PAST_RUNS}"] * 1000,
         results[f"curifactory_register_{PAST_RUNS}"] * 1000),
    ]
    for name, mine, other in rows:
        print(f"{name:<44}{mine:>12.3f}{other:>14.3f}")
    print(f"ratios: cached with report {ratio:.1f}x, without report {ratio_plain:.1f}x")
    failed = False
    for name, (value, ok, budget) in checks.items():
        print(f"budget {name}: {value:.3f} ({budget}) {'ok' if ok else 'FAILED'}")
        failed = failed or not ok
    results["budgets_met"] = not failed
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
