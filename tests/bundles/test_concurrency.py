"""Many processes writing bundles at once, and a writer killed with SIGKILL half-way."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether.bundles as api
from tether.bundles import Bundle
from tether.bundles.store import current_store
from tether.catalog.bundle_records import parse_manifest_path

FORK = multiprocessing.get_context("fork")
PROCESSES = 8
EACH = 500


def _writer(worker: int, count: int) -> None:
    frame = pd.DataFrame(np.full((10, 3), worker, dtype=np.float64), columns=list("abc"))
    for index in range(count):
        Bundle("test", name=f"w{worker}", data=frame, tags={"worker": str(worker), "i": str(index)})


@pytest.mark.slow
def test_eight_processes_create_four_thousand_bundles(ctx, store):
    start = time.perf_counter()
    workers = [FORK.Process(target=_writer, args=(number, EACH)) for number in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    elapsed = time.perf_counter() - start
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert store.index.count("test") == PROCESSES * EACH
    for number in range(PROCESSES):
        found = api.search(ctx, f"w{number}", search_tags={"worker": str(number)})
        assert len(found) == EACH
    assert api.cat(ctx, "w3").iloc[0, 0] == 3.0
    assert elapsed < 60, f"{elapsed:.1f} s for {PROCESSES * EACH} bundles"


def _killable_writer(base: str, ready) -> None:
    payload = os.urandom(300_000)
    index = 0
    ready.set()
    while True:
        path = Path(base) / f"input-{index % 3}.bin"
        path.write_bytes(payload[index % 7 :])
        with Bundle("test", name=f"k{index % 4}", tags={"i": str(index)}) as bundle:
            out = bundle.make_file("out/result.bin")
            out.write_bytes(payload[: 100_000 + index])
            bundle.add_data({"input": path, "out": out, "blob": payload[index:], "n": index})
        index += 1


def _check_consistent(store) -> int:
    connection = sqlite3.connect(store.index.database.path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        dangling = connection.execute(
            "SELECT count(*) FROM bundle_files f LEFT JOIN blobs b ON b.hash = f.hash WHERE b.hash IS NULL"
        ).fetchone()[0]
        assert dangling == 0
    finally:
        connection.close()
    visible = api.search("test")
    for bundle in visible:
        data = bundle.data
        assert data["out"].stat().st_size == 100_000 + data["n"]
        for file in bundle.files:
            assert store.blobs.exists(file.hash)
    for path in store.storage.find("bundles/contexts"):
        if parse_manifest_path(path):
            json.loads(store.storage.read(path))
    return len(visible)


@pytest.mark.slow
def test_a_writer_killed_with_sigkill_leaves_no_partial_bundle(ctx, store, tmp_path):
    seen = 0
    for round_number, delay in enumerate((0.15, 0.4, 0.27, 0.6, 0.33)):
        ready = FORK.Event()
        writer = FORK.Process(target=_killable_writer, args=(str(tmp_path), ready))
        writer.start()
        assert ready.wait(30)
        time.sleep(delay)
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(30)
        assert writer.exitcode == -signal.SIGKILL
        visible = _check_consistent(store)
        assert visible >= seen
        seen = visible
    assert seen > 0
    report = api.rebuild()
    assert report.skipped == [] and report.bundles >= seen
    _check_consistent(current_store())
