"""`tether remote|push|pull|rmr` end to end: two projects made by `tether startproject` share DAG bundles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TASKS = """
    import pandas as pd

    from tether.exec import Task
    from tether.files.data import data_manager


    class Extract(Task):
        def run(self):
            data_manager.write("raw.csv", pd.DataFrame({"x": range(5000)}))


    class Train(Task):
        requires = (Extract,)

        def run(self):
            frame = data_manager.read("raw.csv")
            data_manager.write("model.parquet", frame.assign(y=frame.x * 2))
"""

DAGS = """
    from tether.exec import DAG
    from .tasks import Extract, Train


    class PipelineDAG(DAG):
        label = "pipeline"
        tasks = [Extract, Train]
"""

READ_BACK = """
import json, os, sys
os.environ.setdefault("TETHER_SETTINGS_MODULE", "configs.settings")
sys.path.insert(0, os.getcwd())
import tether.bundles as api

train = api.get(None, "pipeline.train")
print(json.dumps({
    "train": train.uuid,
    "lineage": [[r.name, r.depth] for r in api.lineage(None, train.uuid)],
    "files": {name: api.digest_file(path)[0] for name, path in train.data.items()},
    "committed": train.committed,
}))
"""


def ok(result):
    assert result.code == 0, (result.out, result.err)
    return result.out


def test_dag_bundles_are_pushed_and_pulled_with_lineage(project, tmp_path):
    remote = tmp_path / "shared-remote"
    project.add_module("shop", tasks=TASKS, dags=DAGS)
    ok(project.run("dag", "pipeline"))
    assert "no remote" in ok(project.run("remote"))
    out = ok(project.run("remote", "team", str(remote)))
    assert f"team@{remote}" in out
    failed = project.run("push", "pipeline.train")
    assert failed.code == 2 and "tether commit pipeline.train" in failed.err and "--commit" in failed.err
    assert len(failed.err.strip().splitlines()) == 1
    out = ok(project.run("push", "pipeline.train", "--commit"))
    assert out.startswith("Pushed 1 bundle(s)")
    ok(project.run("commit", "pipeline.extract"))
    assert ok(project.run("push")).startswith("Pushed 1 bundle(s)")
    assert "Pushed 0 bundle(s)" in ok(project.run("push")) and "2 already on the remote" in ok(project.run("push"))

    done = subprocess.run([sys.executable, "-m", "tether", "startproject", "other"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    other = type(project)(tmp_path / "other")
    ok(other.run("context", "mirror"))
    ok(other.run("switch", "mirror"))
    ok(other.run("remote", "team", f"file://{remote}"))
    assert ok(other.run("pull", "pipeline.train")).startswith("Pulled 1 bundle(s) (metadata")
    assert ok(other.run("pull", "--localize")).startswith("Pulled 1 bundle(s) (")
    other.write("read_back.py", READ_BACK)
    mine = json.loads(ok(project.run(entry=str(other.root / "read_back.py"))))
    theirs = json.loads(ok(other.run(entry="read_back.py")))
    assert theirs == mine and theirs["committed"]
    assert theirs["lineage"] == [["pipeline.train", 0], ["pipeline.extract", 1]]

    assert ok(other.run("rmr", "pipeline.extract")).startswith("Removed 1 bundle(s) from the remote")
    gone = other.run("rmr", "pipeline.extract")
    assert gone.code == 2 and "no bundle 'pipeline.extract' in remote context 'team'" in gone.err
    usage = other.run("rmr")
    assert usage.code == 2 and "say what to remove" in usage.err
    refused = other.run("context", "--delete", "mirror", "--remote")
    assert refused.code == 2 and "force=True" in refused.err
    ok(other.run("context", "--delete", "mirror", "--remote", "--force"))
    assert not any(Path(remote, "contexts").glob("team/index/*"))
    assert [p for p in Path(remote, "blobs").rglob("*") if p.is_file()] == []


def test_remote_help_does_not_import_pandas(project):
    code = (
        "import sys\nfrom tether.cli.main import main\n"
        "for args in (['remote', '--help'], ['push', '--help'], ['pull', '--help'], ['rmr', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit as exc:\n        assert not exc.code, args\n"
        "print([m for m in ('pandas', 'dask', 's3fs') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_push_and_pull_show_progress_on_a_terminal(project, tmp_path):
    import os
    import pty

    ok(project.run("add", "notes", str(project.root / "configs")))
    ok(project.run("remote", "team", str(tmp_path / "remote")))
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "push", "notes", "--commit"], cwd=project.root, stderr=follower,
            stdout=subprocess.PIPE, text=True, timeout=120,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0 and done.stdout.startswith("Pushed 1 bundle(s)")
    assert b"push: bundles" in shown
