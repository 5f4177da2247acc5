#!/usr/bin/env python
"""Storage budget: copies to and from S3 through tether against s3fs called directly.

Run with the tether venv's interpreter:

    /work/main/.venv/bin/python bench/bench_storage.py [--quick]

A moto S3 server is started on 127.0.0.1 (a free port) for the length of the run. 100
local files of 10 MB are uploaded to the bucket, then downloaded to a new local folder:

- tether: `S3Storage.upload(folder, prefix, concurrency=C)` then
  `S3Storage.download(prefix, folder, concurrency=C)` (each file atomic: a single PUT, and a
  temporary local file moved into place);
- s3fs: `S3FileSystem.put(local_paths, remote_paths, batch_size=C)` then
  `S3FileSystem.get(remote_paths, local_paths, batch_size=C)`, on an S3FileSystem with the
  library's defaults and the same endpoint and credentials.

Budget: median(tether upload + download) / median(s3fs upload + download) at most 1.2.

Results are printed and written to bench/results/storage.json. The exit status is 0 when
the budget holds, 1 when it does not, 2 when the measurement failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "storage.json"
BUDGET = 1.2
SIDES = ("tether", "s3fs")

# Options and their defaults.
FILES = 100
FILE_SIZE = 10_000_000
CONCURRENCY = 16
REPETITIONS = 5
QUICK_REPETITIONS = 3


def make_files(folder: Path, count: int, size: int) -> list[Path]:
    """`count` files of `size` random bytes (one random block, a distinct head per file)."""
    folder.mkdir(parents=True)
    block = os.urandom(size)
    paths = []
    for index in range(count):
        path = folder / f"part-{index:04d}.bin"
        head = f"{index:016d}".encode()
        with open(path, "wb") as handle:
            handle.write(head)
            handle.write(memoryview(block)[len(head) :])
        paths.append(path)
    return paths


def digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


class Sides:
    """The two ways of copying the same files, and how to clean up after each sample."""

    def __init__(self, server: Any, bucket: str, sources: list[Path], work: Path, concurrency: int) -> None:
        import s3fs

        from tether.files.storages.s3 import S3Storage

        self.bucket = bucket
        self.sources = sources
        self.work = work
        self.concurrency = concurrency
        self.storage = S3Storage(f"s3://{bucket}/tether", **server.storage_options())
        self.fs = s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())

    def tether(self, name: str, target: Path) -> tuple[float, float]:
        started = time.perf_counter()
        self.storage.upload(self.sources[0].parent, name, concurrency=self.concurrency)
        uploaded = time.perf_counter()
        self.storage.download(name, target, concurrency=self.concurrency)
        return uploaded - started, time.perf_counter() - uploaded

    def s3fs(self, name: str, target: Path) -> tuple[float, float]:
        remote = [f"{self.bucket}/s3fs/{name}/{path.name}" for path in self.sources]
        local = [str(target / path.name) for path in self.sources]
        started = time.perf_counter()
        self.fs.put([str(path) for path in self.sources], remote, batch_size=self.concurrency)
        uploaded = time.perf_counter()
        target.mkdir(parents=True)
        self.fs.get(remote, local, batch_size=self.concurrency)
        return uploaded - started, time.perf_counter() - uploaded

    def clean(self, side: str, name: str, target: Path) -> None:
        if side == "tether":
            self.storage.rm(name, recursive=True)
        else:
            self.fs.rm(f"{self.bucket}/s3fs/{name}", recursive=True)
        shutil.rmtree(target)

    def check(self, side: str, name: str, target: Path) -> None:
        """The downloaded files are the sources, byte for byte (on the first and last file)."""
        for source in (self.sources[0], self.sources[-1]):
            copy = target / source.name
            if digest(copy) != digest(source):
                raise RuntimeError(f"{side} {name}: {copy} differs from {source}")
        if len(list(target.iterdir())) != len(self.sources):
            raise RuntimeError(f"{side} {name}: {target} does not hold {len(self.sources)} files")


def measure(sides: Sides, repetitions: int) -> dict[str, dict[str, list[float]]]:
    """Run one untimed round, then `repetitions` timed rounds, the sides alternating first."""
    samples: dict[str, dict[str, list[float]]] = {
        side: {"upload": [], "download": []} for side in SIDES
    }
    for round_number in range(repetitions + 1):
        order = SIDES if round_number % 2 == 0 else SIDES[::-1]
        for side in order:
            name = f"round-{round_number}"
            target = sides.work / f"{side}-{name}"
            run: Callable[[str, Path], tuple[float, float]] = getattr(sides, side)
            upload, download = run(name, target)
            sides.check(side, name, target)
            sides.clean(side, name, target)
            if round_number == 0:
                print(f"  warm-up {side}: upload {upload:.2f} s, download {download:.2f} s", flush=True)
                continue
            samples[side]["upload"].append(upload)
            samples[side]["download"].append(download)
            print(
                f"  round {round_number} {side:>6}: upload {upload:6.2f} s, download {download:6.2f} s",
                flush=True,
            )
    return samples


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    totals = {
        side: [up + down for up, down in zip(values["upload"], values["download"])]
        for side, values in samples.items()
    }
    medians = {
        side: {
            "upload": statistics.median(samples[side]["upload"]),
            "download": statistics.median(samples[side]["download"]),
            "total": statistics.median(totals[side]),
        }
        for side in SIDES
    }
    ratios = {
        measure: medians["tether"][measure] / medians["s3fs"][measure]
        for measure in ("upload", "download", "total")
    }
    return {"medians": medians, "ratios": ratios, "totals": totals}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("tether", "s3fs", "fsspec", "aiobotocore", "botocore", "moto"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "-"
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPETITIONS} rounds instead of {REPETITIONS}")
    parser.add_argument("--repetitions", type=int, help="timed rounds per side")
    parser.add_argument("--files", type=int, default=FILES, help="how many files (%(default)s)")
    parser.add_argument("--size", type=int, default=FILE_SIZE, help="bytes per file (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="files in flight, both sides (%(default)s)")
    parser.add_argument("--tmpdir", help="where the local files go (default: TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the local files")
    args = parser.parse_args(argv)
    repetitions = args.repetitions or (QUICK_REPETITIONS if args.quick else REPETITIONS)

    from tether.testing.servers import S3Server

    work = Path(tempfile.mkdtemp(prefix="tether-bench-storage-", dir=args.tmpdir))
    result: dict[str, Any] = {
        "benchmark": "storage",
        "date": datetime.now(timezone.utc).isoformat(),
        "config": {
            "files": args.files,
            "file_size": args.size,
            "concurrency": args.concurrency,
            "repetitions": repetitions,
            "tmpdir": str(work),
        },
        "versions": versions(),
        "load_before": os.getloadavg(),
        "budget": {"max_ratio": BUDGET, "measure": "median(tether upload+download) / median(s3fs)"},
    }
    status = 2
    print(
        f"{args.files} files of {args.size / 1e6:g} MB, concurrency {args.concurrency},"
        f" {repetitions} rounds; local files in {work}",
        flush=True,
    )
    try:
        sources = make_files(work / "source", args.files, args.size)
        with S3Server() as server:
            print(f"moto S3 server at {server.url}", flush=True)
            bucket = server.create_bucket("bench")
            sides = Sides(server, bucket, sources, work, args.concurrency)
            samples = measure(sides, repetitions)
        summary = summarize(samples)
        result.update(samples=samples, **summary)
        ratio = summary["ratios"]["total"]
        passed = ratio <= BUDGET
        result["passed"] = passed
        status = 0 if passed else 1
        megabytes = args.files * args.size / 1e6
        print()
        print(f"{'':8} {'upload':>10} {'download':>10} {'total':>10} {'MB/s':>8}")
        for side in SIDES:
            m = summary["medians"][side]
            print(
                f"{side:8} {m['upload']:9.2f}s {m['download']:9.2f}s {m['total']:9.2f}s"
                f" {2 * megabytes / m['total']:8.0f}"
            )
        r = summary["ratios"]
        print(f"{'ratio':8} {r['upload']:9.3f}x {r['download']:9.3f}x {r['total']:9.3f}x")
        print(f"{'PASS' if passed else 'FAIL'}: tether/s3fs = {ratio:.3f} (budget {BUDGET})")
    except Exception as exc:
        result["error"] = "".join(traceback.format_exception(exc))
        print(f"measurement failed: {exc}", file=sys.stderr)
        traceback.print_exc()
    finally:
        result["load_after"] = os.getloadavg()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results: {RESULTS_FILE}")
    return status


if __name__ == "__main__":
    sys.exit(main())
