"""The forked filer: a long run's batches are filed by a second process, and nothing is lost if it fails.

The runs are subprocesses, as a user's are: a pytest-xdist worker has threads,
so it would not fork a filer (`can_fork_filer`), while a plain `python` process does.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether.bundles import api
from tether.experiments import run_experiment
from tether.experiments.cache_store import FILER_BATCH
from tether.experiments.filing import can_fork_filer

SETS, STAGES = 10, 15  # 150 executions: the first batch goes to the filer, the rest is filed by the run

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="a filer is forked on Linux with two cores or more",
)

DRIVER = '''
import os, signal, sys
from tether.experiments import cache_store, run_experiment

run_pid = os.getpid()
mode = sys.argv[1]
original = cache_store.CacheStore.file_batch

def file_batch(self, batch):
    if os.getpid() != run_pid:
        print(f"filer {os.getpid()}", file=sys.stderr, flush=True)
        if mode == "fails":
            raise OSError("no space left on device")
        if mode == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "dies-after-recording":
            original(self, batch)
            os._exit(3)
    return original(self, batch)

cache_store.CacheStore.file_batch = file_batch
manager = run_experiment("long", ["long"], report=False)
print(manager.status, run_pid)
'''


@pytest.fixture
def long_project(exp_project):
    body = ["from tether.experiments import stage, PickleCacher\n"]
    for index in range(STAGES):
        inputs = f'inputs=["v{index - 1}"], ' if index else ""
        argument = f", v{index - 1}" if index else ""
        value = f"v{index - 1} + 1" if index else "record.args.i * 100"
        body.append(f'@stage({inputs}outputs=["v{index}"], cachers=[PickleCacher])\n'
                    f"def s{index}(record{argument}):\n    return {value}\n")
    calls = "record"
    for index in range(STAGES):
        calls = f"s{index}({calls})"
    body.append(f"def run(param_sets, manager):\n    for params in param_sets:\n"
                f"        record = Record(manager, params)\n        {calls}\n")
    exp_project.experiment("long", "from tether.experiments import Record\n" + "\n".join(body))
    exp_project.param_file("long", f'''
        from dataclasses import dataclass
        from tether.experiments import ExperimentParameters

        @dataclass
        class Params(ExperimentParameters):
            i: int = 0

        def get_params():
            return [Params(name=f"p{{i}}", i=i) for i in range({SETS})]
    ''')
    exp_project.write("driver.py", textwrap.dedent(DRIVER))
    return exp_project


def _run(project, mode: str) -> tuple[int, set[int]]:
    """Run the experiment in a subprocess; returns the run's pid and the filers' pids."""
    env = {**os.environ, "PYTHONPATH": str(project.root), "TETHER_SETTINGS_MODULE": project.settings_module()}
    done = subprocess.run([sys.executable, "driver.py", mode], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    status, pid = done.stdout.split()[-2:]
    assert status == "complete", done.stdout
    filers = {int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("filer ")}
    return int(pid), filers


def _check_filed(project) -> None:
    """Every output is one bundle with lineage to the previous stage's, and a re-run loads them all."""
    for index in range(STAGES):
        found = api.search("experiments", f"long.s{index}.v{index}")
        assert len(found) == SETS, (index, len(found))
        assert sorted(pickle.loads(Path(b.data).read_bytes()) for b in found) == [i * 100 + index for i in range(SETS)]
        if index:
            upstream = {b.uuid for b in api.search("experiments", f"long.s{index - 1}.v{index - 1}")}
            assert {b.dependencies[f"v{index - 1}"] for b in found} <= upstream
    again = run_experiment("long", ["long"], report=False)
    statuses = {status for record in again.records for status in record.stage_status.values()}
    assert statuses == {"cached", "skipped"}


def test_a_long_run_files_its_first_batches_in_a_forked_filer(long_project):
    assert SETS * STAGES > FILER_BATCH
    pid, filers = _run(long_project, "normal")
    assert len(filers) == 1 and pid not in filers
    segments = os.listdir(long_project.root / "data" / "bundles" / "contexts" / "experiments" / "segments")
    # The filer appended the first batch's manifests to a segment of its own, the run the rest to its own.
    assert {int(name.split("-")[0]) for name in segments} == {pid, *filers}
    _check_filed(long_project)


@pytest.mark.parametrize("mode", ["fails", "killed", "dies-after-recording"])
def test_what_a_failed_filer_did_not_acknowledge_is_filed_by_the_run(long_project, mode):
    _, filers = _run(long_project, mode)
    assert len(filers) == 1
    # Filed once each: a batch the filer recorded before it died is not filed again.
    _check_filed(long_project)


def test_no_filer_is_forked_from_a_process_with_other_threads():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork_filer()
    finally:
        stop.set()
        thread.join()
