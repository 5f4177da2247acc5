#!/usr/bin/env python
"""Remote budgets: push and pull of 200 committed bundles against Disdat 1.2.0, on one S3 server.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_remotes.py [--quick] [--keep] [--count N] [--rounds N]

A moto S3 server is started on 127.0.0.1 (a free port) for the whole run; both tools talk to
it (tether through its settings, Disdat 1.2.0 through boto3's `AWS_ENDPOINT_URL`, which the
boto3 in its venv honours). Each measurement is a fresh process with a fresh project
(tether) or HOME (Disdat) under TMPDIR and a fresh bucket; bundles are made and committed
before the clock starts, with the same call in both tools: `Bundle(ctx, name=..., data=df,
tags=...)` of a 100x3 float DataFrame (distinct per bundle), then `.commit()`.

1. Push: `push(ctx)` of all 200 committed bundles to a new remote (Disdat: its fast push).
   Budget: Disdat's time / tether's time at least 5.
2. Push again with nothing new (tether). Budget: at most 0.1 s.
3. Pull: `pull(ctx)` of the 200 bundles into an empty context bound to the same remote
   context, metadata only (`localize=False`, both tools), and with `localize=True`.
   Budget (metadata only): Disdat's time / tether's time at least 5.
4. Pull of one bundle by name from the remote holding the 200, in a fresh project: the
   requests tether sends are counted with a botocore event hook on its S3 client.
   Budget: at most 3.

`--rows N` makes each DataFrame N x 3 (the budgets are for the default 100 rows, whose parquet
fits inside tether's manifests; with `--rows 10000` every bundle also carries a 240 KB file).
Rounds alternate which tool goes first; figures are medians. Results are printed and written
to bench/results/remotes.json (remotes-<N>rows.json with --rows). Exit status 0 when every
budget passes, 1 when one fails, 2 when a measurement could not be made. Options other
benchmarks take are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid as uuid_module
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bench_bundles import DISDAT_VERSION, describe, disdat_python  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
COUNT = 200
PUSH_BUDGET = 5.0
PULL_BUDGET = 5.0
NOTHING_NEW_BUDGET_S = 0.1
PULL_ONE_BUDGET = 3

# One program for both tools. argv: tool, home, phase, url, count, endpoint, rows.
WORKER = r'''
import json, os, sys, time
tool, home, phase, url, count, endpoint, rows = sys.argv[1:8]
count, rows = int(count), int(rows)
if tool == "tether":
    from tether.conf import settings
    settings.configure(BASE_DIR=home, AWS_S3_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
                       AWS_SECRET_ACCESS_KEY="testing", AWS_S3_REGION_NAME="us-east-1")
    import tether.bundles as api
else:
    import logging, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import disdat.api as api
    api.init()
api.context("bench")
api.remote("bench", "shared", url)
out = {}
if phase == "push":
    import numpy as np, pandas as pd
    rng = np.random.default_rng(0)
    frames = [pd.DataFrame(rng.random((rows, 3)), columns=list("abc")) for _ in range(count)]
    for index in range(count):
        api.Bundle("bench", name=f"frame_{index % 10}", data=frames[index], tags={"index": str(index)}).commit()
    start = time.perf_counter()
    api.push("bench")
    out["push"] = time.perf_counter() - start
    if tool == "tether":
        again = []
        for _ in range(5):
            start = time.perf_counter()
            report = api.push("bench")
            again.append(time.perf_counter() - start)
            assert report.pushed == [], report
        out["push_again"] = sorted(again)[len(again) // 2]
elif phase in ("pull", "pull-localize"):
    start = time.perf_counter()
    api.pull("bench", localize=phase == "pull-localize")
    out["pull"] = time.perf_counter() - start
    found = api.search("bench")
    out["bundles"] = len(found)
    if phase == "pull-localize" and tool == "tether":
        assert found[0].data.shape == (rows, 3)
elif phase == "pull-one":
    from tether.bundles.remote_io import open_remote
    io = open_remote(url)
    client = io.storage._sync(io.storage.fs.set_session)
    sent = []
    client.meta.events.register("before-send.s3", lambda request, **kw: sent.append(request.method + " " + request.url))
    start = time.perf_counter()
    api.pull("bench", "frame_7")
    out["pull_one"] = time.perf_counter() - start
    out["requests"] = len(sent)
    out["sent"] = sent
    out["bundles"] = len(api.search("bench"))
print(json.dumps(out))
'''


def run_worker(
    python: str, tool: str, work: Path, phase: str, url: str, count: int, server: Any, rows: int
) -> dict[str, Any]:
    """One fresh process (fresh project or HOME) running one phase; returns what it measured."""
    home = work / f"{tool}-{phase}-{uuid_module.uuid4().hex[:8]}"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.endswith("_SETTINGS_MODULE")}
    env.pop("PYTHONPATH", None)
    env.update(server.env())
    if tool == "disdat":
        env["HOME"] = str(home)
    result = subprocess.run(
        [python, "-c", WORKER, tool, str(home), phase, url, str(count), server.url, str(rows)],
        capture_output=True, text=True, env=env, cwd=home, timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{tool} {phase} failed:\n{result.stderr.strip()[-3000:]}")
    shutil.rmtree(home, ignore_errors=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(work: Path, count: int, rounds: int, rows: int, errors: list[str]) -> dict[str, Any]:
    from tether.testing.servers import S3Server

    disdat = disdat_python(errors)
    tools = {"tether": sys.executable}
    if disdat:
        tools["disdat"] = disdat
    samples: dict[str, dict[str, list[float]]] = {tool: {} for tool in tools}
    requests: list[int] = []
    sent: list[str] = []
    with S3Server() as server:
        for round_number in range(rounds):
            order = list(tools) if round_number % 2 == 0 else list(reversed(tools))
            for tool in order:
                url = f"s3://{server.create_bucket()}/{tool}"
                try:
                    pushed = run_worker(tools[tool], tool, work, "push", url, count, server, rows)
                    for phase in ("pull", "pull-localize"):
                        pulled = run_worker(tools[tool], tool, work, phase, url, count, server, rows)
                        if pulled["bundles"] != count:
                            raise RuntimeError(f"{tool} {phase} found {pulled['bundles']} bundles, not {count}")
                        samples[tool].setdefault(phase, []).append(pulled["pull"])
                    samples[tool].setdefault("push", []).append(pushed["push"])
                    if "push_again" in pushed:
                        samples[tool].setdefault("push_again", []).append(pushed["push_again"])
                    if tool == "tether":
                        one = run_worker(tools[tool], tool, work, "pull-one", url, count, server, rows)
                        requests.append(one["requests"])
                        sent = one["sent"]
                        samples[tool].setdefault("pull_one", []).append(one["pull_one"])
                except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
                    errors.append(str(exc))
    return {
        "timings": {
            tool: {phase: describe(times) for phase, times in phases.items()} for tool, phases in samples.items()
        },
        "pull_one_requests": max(requests) if requests else None,
        "pull_one_sent": sent,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--rows", type=int, default=100, help="rows of each bundle's 3-column DataFrame")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args, _ = parser.parse_known_args(argv)
    rounds = 1 if args.quick else args.rounds
    errors: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="tether-bench-remotes-"))
    try:
        results = measure(work, args.count, rounds, args.rows, errors)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    timings = results["timings"]
    ours, theirs = timings.get("tether", {}), timings.get("disdat", {})
    checks: list[tuple[str, str, bool | None]] = []

    # The budgets hold for the default bundles; other sizes are reported.
    budgeted = args.rows == 100

    def ratio(phase: str, budget: float, label: str) -> None:
        if phase in ours and phase in theirs:
            value = theirs[phase]["median"] / ours[phase]["median"]
            text = f"disdat {theirs[phase]['median']:.3f} s / tether {ours[phase]['median']:.3f} s = {value:.1f}x"
            if budgeted and budget:
                checks.append((label, f"{text} (budget >= {budget:g}x)", value >= budget))
            else:
                checks.append((label, f"{text} (reported)", None))
        else:
            checks.append((label, "not measured", None))

    ratio("push", PUSH_BUDGET, f"push {args.count}")
    if "push_again" in ours:
        again = ours["push_again"]["median"]
        checks.append(("push, nothing new", f"{again * 1000:.1f} ms (budget <= {NOTHING_NEW_BUDGET_S * 1000:g} ms)",
                       again <= NOTHING_NEW_BUDGET_S))
    ratio("pull", PULL_BUDGET, f"pull {args.count} (metadata)")
    ratio("pull-localize", 0, f"pull {args.count} (localize)")
    count = results["pull_one_requests"]
    checks.append(("pull one by name", f"{count} requests (budget <= {PULL_ONE_BUDGET})" if count is not None
                   else "not measured", None if count is None else count <= PULL_ONE_BUDGET))
    print(
        f"Remotes: {args.count} bundles of {args.rows}x3 floats, {rounds} round(s), moto S3 on 127.0.0.1,"
        f" disdat {DISDAT_VERSION}"
    )
    for label, text, passed in checks:
        mark = "ok  " if passed else ("FAIL" if passed is False else "    ")
        print(f"  {mark} {label:<26} {text}")
    for tool, phases in timings.items():
        print(f"  {tool}: " + ", ".join(f"{phase} {stats['median']:.3f} s" for phase, stats in phases.items()))
    for error in errors:
        print(f"  error: {error}", file=sys.stderr)
    results_file = RESULTS_DIR / ("remotes.json" if args.rows == 100 else f"remotes-{args.rows}rows.json")
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(), "python": platform.python_version(),
        "count": args.count, "rows": args.rows, "rounds": rounds, "results": results, "errors": errors,
        "checks": [{"check": label, "value": text, "passed": passed} for label, text, passed in checks],
    }, indent=2))
    if errors or any(text == "not measured" for _, text, _ in checks):
        return 2 if not any(passed is False for _, _, passed in checks) else 1
    return 1 if any(passed is False for _, _, passed in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
