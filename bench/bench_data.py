#!/usr/bin/env python
"""Data manager benchmark: a parquet write then read through tether against pyarrow directly.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_data.py [--quick] [--profile]

A DataFrame of 10 numeric columns (8 float64, 2 int64; 12.5M rows, 1 GB as Arrow; 1.25M rows
and 100 MB with --quick) is written and read back, in one temporary folder, by:

- tether: `data_manager.write("x.parquet", df)` then `data_manager.read("x.parquet")`, with
  the default PandasDataManager on local storage in that folder;
- pyarrow: `pq.write_table(pa.Table.from_pandas(df), path)` then
  `pq.read_table(path).to_pandas()`.

Both use pyarrow's defaults (snappy compression, the same conversion options). Each sample
starts from no file (`--overwrite`: from the previous sample's file) and flushed writeback
(`os.sync()`, untimed); the two sides alternate which goes first. The budget: the median of
tether's write + read is at most 1.15x the median of pyarrow's. Results are printed and
written to bench/results/data.json; the exit status is 0 when the budget is met, 1 when it is
not, 2 when a measurement failed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "data.json"

BUDGET_RATIO = 1.15
FULL_ROWS = 12_500_000
QUICK_ROWS = 1_250_000
RUN_FOLDER = "runs/bench/data"

sys.path.insert(0, str(REPO_DIR))


def build_frame(rows: int) -> Any:
    """A DataFrame of `rows` rows: 8 float64 and 2 int64 columns of random values."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20240101)
    columns: dict[str, Any] = {f"f{i}": rng.standard_normal(rows) for i in range(8)}
    columns["i0"] = rng.integers(0, 1_000_000, rows, dtype="int64")
    columns["i1"] = np.arange(rows, dtype="int64")
    return pd.DataFrame(columns)


def describe_disk(path: Path) -> dict[str, str]:
    """The mount point, device and filesystem type that hold `path` (from /proc/mounts)."""
    target = os.path.realpath(path)
    best = {"mount": "?", "device": "?", "fstype": "?"}
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, mount, fstype, *_ = line.split()
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best["mount"].replace("?", "")):
                    best = {"mount": mount, "device": device, "fstype": fstype}
    except OSError:
        pass
    return {"path": str(path), **best}


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Run `action`; return (seconds, its result)."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


class Sides:
    """The two ways of writing then reading the frame, on the same folder."""

    def __init__(self, work: Path, df: Any, overwrite: bool = False) -> None:
        from tether.conf.context import Context, activate
        from tether.files.data import data_manager
        from tether.files.storages import default_storage

        self.df = df
        self.overwrite = overwrite
        self.manager = data_manager
        self.storage_root = work / "data"
        self.tether_path = self.storage_root / RUN_FOLDER / "x.parquet"
        self.pyarrow_path = work / "pyarrow" / "x.parquet"
        self.pyarrow_path.parent.mkdir(parents=True)
        meta = {"run_id": "bench", "run_folder": RUN_FOLDER, "created_at": None}
        activate(Context({"meta": meta}))
        self.storage = default_storage

    def tether(self) -> tuple[float, float, Any]:
        write, _ = timed(lambda: self.manager.write("x.parquet", self.df))
        read, back = timed(lambda: self.manager.read("x.parquet"))
        return write, read, back

    def pyarrow(self) -> tuple[float, float, Any]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = str(self.pyarrow_path)
        write, _ = timed(lambda: pq.write_table(pa.Table.from_pandas(self.df), path))
        read, back = timed(lambda: pq.read_table(path).to_pandas())
        return write, read, back

    def reset(self) -> None:
        """Remove both files (unless overwriting) and flush writeback: samples start alike."""
        if not self.overwrite:
            for path in (self.tether_path, self.pyarrow_path):
                path.unlink(missing_ok=True)
        os.sync()


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, min and max of `values`."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
    }


def measure(sides: Sides, repetitions: int) -> dict[str, dict[str, list[float]]]:
    """Alternate the two sides `repetitions` times after one untimed warm-up of each."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"write": [], "read": [], "total": []} for name in ("tether", "pyarrow")
    }
    runs = {"tether": sides.tether, "pyarrow": sides.pyarrow}
    for name, run in runs.items():
        sides.reset()
        run()
    for repetition in range(repetitions):
        order = ("tether", "pyarrow") if repetition % 2 == 0 else ("pyarrow", "tether")
        for name in order:
            sides.reset()
            write, read, back = runs[name]()
            del back
            samples[name]["write"].append(write)
            samples[name]["read"].append(read)
            samples[name]["total"].append(write + read)
            line = f"  {repetition + 1:>2} {name:<8} write {write:6.2f} s  read {read:6.2f} s"
            print(line, flush=True)
    return samples


def check_round_trip(sides: Sides) -> None:
    """Both sides give the frame back exactly."""
    import pandas as pd

    sides.reset()
    pd.testing.assert_frame_equal(sides.tether()[2], sides.df)
    pd.testing.assert_frame_equal(sides.pyarrow()[2], sides.df)


def profile(sides: Sides) -> None:
    """cProfile one tether write + read; print the functions with the most cumulative time."""
    sides.reset()
    profiler = cProfile.Profile()
    profiler.enable()
    sides.tether()
    profiler.disable()
    print("\nprofile of one tether write + read (cumulative time):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def versions() -> dict[str, str]:
    import numpy
    import pandas
    import pyarrow

    import tether

    return {
        "python": platform.python_version(),
        "tether": tether.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
    }


def run(args: argparse.Namespace) -> int:
    """Build the frame, measure both sides, print the verdict and write the JSON results."""
    import pyarrow as pa

    from tether.conf import settings

    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    repetitions = args.repetitions or (3 if args.quick else 7)
    work = Path(tempfile.mkdtemp(prefix="tether-bench-data-", dir=args.tmpdir))
    disk = describe_disk(work)
    settings.configure(BASE_DIR=str(work), STORAGE_ROOT=str(work / "data"))
    errors: list[str] = []
    payload: dict[str, Any] = {}
    try:
        df = build_frame(rows)
        arrow_bytes = pa.Table.from_pandas(df).nbytes
        print(f"frame: {rows:,} rows x {df.shape[1]} columns, {arrow_bytes / 1e9:.2f} GB as Arrow")
        print(f"disk: {disk['path']} on {disk['mount']} ({disk['fstype']}, {disk['device']})")
        load = os.getloadavg()[0]
        print(f"cpus: {os.cpu_count()}, load average {load:.2f}; {repetitions} samples per side")
        start = "replacing the previous file" if args.overwrite else "from no file"
        print(f"each write starts {start}")
        sides = Sides(work, df, overwrite=args.overwrite)
        check_round_trip(sides)
        load_before = os.getloadavg()
        samples = measure(sides, repetitions)
        load_after = os.getloadavg()
        if args.profile:
            profile(sides)
        stats = {
            name: {kind: summarize(values) for kind, values in kinds.items()}
            for name, kinds in samples.items()
        }
        ratio = stats["tether"]["total"]["median"] / stats["pyarrow"]["total"]["median"]
        passed = ratio <= BUDGET_RATIO
        print(f"\n{'':<8} {'write':>8} {'read':>8} {'total':>8}   (medians, s)")
        for name in ("tether", "pyarrow"):
            figures = [stats[name][kind]["median"] for kind in ("write", "read", "total")]
            print(f"{name:<8} " + " ".join(f"{value:8.2f}" for value in figures))
        print(
            f"\nratio tether/pyarrow (write + read): {ratio:.3f}  budget {BUDGET_RATIO}:"
            f" {'PASS' if passed else 'FAIL'}"
        )
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
        payload = {
            "rows": rows,
            "columns": df.shape[1],
            "arrow_bytes": arrow_bytes,
            "repetitions": repetitions,
            "overwrite": args.overwrite,
            "disk": disk,
            "samples": samples,
            "stats": stats,
            "ratio": ratio,
            "budget": BUDGET_RATIO,
            "passed": passed,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        }
    except Exception:
        errors.append(traceback.format_exc())
        print(errors[-1], file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    payload.update(
        {
            "errors": errors,
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "versions": versions(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
        }
    )
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {RESULTS_FILE}")
    if errors:
        return 2
    return 0 if payload["passed"] else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 MB instead of 1 GB, 3 samples")
    parser.add_argument(
        "--repetitions", type=int, default=0, help="samples per side (7; 3 with --quick)"
    )
    parser.add_argument(
        "--rows", type=int, default=0, help="rows of the frame (12.5M; 1.25M with --quick)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="each write replaces the previous file instead of starting from none",
    )
    parser.add_argument("--tmpdir", default=None, help="folder for the files (default: TMPDIR)")
    parser.add_argument("--profile", action="store_true", help="cProfile one tether write + read")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse_args()))
