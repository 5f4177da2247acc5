#!/usr/bin/env python
"""Run every bench/bench_*.py in turn (`make bench`).

    python bench/run_all.py [--quick] [--only NAME ...] [extra options passed to each script]

Each script runs with this interpreter, from the repository root, and writes its own
results under bench/results/. The exit status is the highest any script returned
(0: all budgets met, 1: a budget failed, 2: a measurement could not be made).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


def discover(only: Sequence[str]) -> list[Path]:
    """The benchmark scripts, sorted by name; `only` keeps those named (`core` or `bench_core`)."""
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        scripts = [path for path in scripts if path.stem.removeprefix("bench_") in wanted]
    return scripts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scripts, print a summary line for each, return the worst exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these benchmarks")
    args, passthrough = parser.parse_known_args(argv)
    scripts = discover(args.only)
    if not scripts:
        print("no benchmark scripts matched", file=sys.stderr)
        return 2
    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"=== {script.relative_to(REPO_DIR)} {' '.join(passthrough)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *passthrough], cwd=REPO_DIR)
        outcomes.append((script.stem, code, time.perf_counter() - started))
        print(flush=True)
    print("=== summary")
    meaning = {0: "ok", 1: "budget failed", 2: "error"}
    for name, code, seconds in outcomes:
        print(f"  {name:<24} exit {code} ({meaning.get(code, 'error')}), {seconds:.0f} s")
    return max(code for _, code, _ in outcomes)


if __name__ == "__main__":
    sys.exit(main())
