"""Filing cached stage outputs in a second process while the stages go on.

Filing a batch of executions (blobs, manifests, bundle and cache rows in one
transaction) takes about as long as running the stages that made it. On a
machine with a spare core, a run with more than one batch forks a filer: the
run sends it each batch as the batch fills and goes on with its stages, and
waits only for the last one. The filer is a fork of the run, so it files with
the same settings, store and code; it opens its own catalog connection and
manifest segment.

Nothing is lost when either side dies. The run keeps every batch until the
filer acknowledges it; if the filer fails (an error, or killed), the run files
the batches it did not acknowledge itself, skipping those the filer recorded
before it died, and raises the error, if any, from its own attempt. If the run
dies, the filer records the batches it received and exits; the others have
cache files but no rows, and are recomputed by the next run.

No filer is forked where forking is unsafe or useless: with one core, outside
Linux, from a process with other threads (a notebook's kernel), or from a
`--parallel` worker.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from tether.experiments.cache_store import CacheStore, PendingExecution

__all__ = ["BackgroundFiler", "can_fork_filer"]

logger = logging.getLogger("tether.experiments")

_DONE = "done"


def can_fork_filer() -> bool:
    """Whether this process may fork a filer: Linux, two cores or more, one thread, not a pool worker."""
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except OSError:  # pragma: no cover - affinity is always readable on Linux
        cores = os.cpu_count() or 1
    # Forking a process with other threads may deadlock the child on a lock one of
    # them held; a daemonic pool worker may not have children.
    return cores >= 2 and threading.active_count() == 1 and not multiprocessing.current_process().daemon


class BackgroundFiler:
    """A forked process that files the batches of one cache store, in the order sent.

    Args:
        store: the cache store whose `file_batch` the filer runs.
    """

    def __init__(self, store: CacheStore) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, child = context.Pipe()
        # Daemonic: a run that exits without waiting for it (it was killed, or failed
        # before its last flush) does not wait for its filer either.
        self._process = context.Process(
            target=_serve, args=(store, child, self._connection), name="tether-filer", daemon=True)
        # Frozen for the fork: the filer's garbage collections then leave the run's
        # objects alone, so their memory stays shared instead of being copied.
        gc.freeze()
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        child.close()
        self.unacknowledged: list[list[PendingExecution]] = []
        self.failure: str | None = None

    @property
    def broken(self) -> bool:
        """Whether the filer failed or is gone; what it did not acknowledge must be filed by the run."""
        return self.failure is not None

    def submit(self, batch: list[PendingExecution]) -> list[list[PendingExecution]]:
        """Send `batch` to be filed; returns the batches acknowledged since the last call."""
        self.unacknowledged.append(batch)
        if not self.broken:
            try:
                self._connection.send(batch)
            except Exception as exc:  # gone (a broken pipe), or the batch does not pickle
                self.failure = f"the batch could not be sent to the filer ({type(exc).__name__}: {exc})"
        return self._acknowledged(wait=False)

    def finish(self) -> tuple[list[list[PendingExecution]], list[list[PendingExecution]]]:
        """Wait for every batch; returns those filed and those left for the run to file."""
        done = self._acknowledged(wait=True)
        with contextlib.suppress(OSError):
            self._connection.close()
        self._process.join(timeout=10)
        if self._process.is_alive():  # pragma: no cover - it exits once its pipe closes
            self._process.kill()
            self._process.join()
        left, self.unacknowledged = self.unacknowledged, []
        if left:
            logger.warning("%s; the run files its last %d batch(es) itself", self.failure, len(left))
        return done, left

    def _acknowledged(self, *, wait: bool) -> list[list[PendingExecution]]:
        done: list[list[PendingExecution]] = []
        while self.unacknowledged and not self.broken:
            try:
                if not wait and not self._connection.poll():
                    break
                reply = self._connection.recv()
            except (EOFError, OSError):
                self.failure = f"the filer stopped (exit code {self._process.exitcode})"
                break
            if reply != _DONE:
                self.failure = f"the filer failed: {reply}"
                break
            done.append(self.unacknowledged.pop(0))
        return done


def _serve(store: CacheStore, connection: Connection, runs_end: Connection) -> None:
    """The filer: file each batch received, acknowledge it, and stop at the end of the pipe."""
    # The fork holds the run's end of the pipe too: closed, so the run closing it ends the pipe.
    runs_end.close()
    # Ctrl-C in a terminal reaches the whole process group: the run decides what
    # happens, and the filer finishes what it was given.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while True:
            try:
                batch = connection.recv()
            except (EOFError, OSError):
                return
            try:
                store.file_batch(batch)
            except Exception as exc:  # reported to the run, which files the batch itself
                with contextlib.suppress(OSError):
                    connection.send(f"{type(exc).__name__}: {exc}")
                return
            connection.send(_DONE)
    finally:
        store.close_writer()
