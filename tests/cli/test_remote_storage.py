"""Whole runs with STORAGE_ROOT in a bucket: S3 on moto's server, GCS on the emulator, both on 127.0.0.1.

A project from `tether startproject` gets a settings module per store, as a
production settings module would: S3 by an `s3://` URL, GCS as in the Gluepy
seed's prod.py (the backend by dotted path, a prefix, the bucket setting).
The endpoint and the dummy credentials come from environment variables.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from tether.files.storages.google import GoogleStorage
from tether.files.storages.s3 import S3Storage

pytestmark = pytest.mark.slow

TASKS = """
    import logging

    import pandas as pd

    from tether.exec import Task
    from tether.files.data import data_manager
    from tether.files.storages import default_storage

    log = logging.getLogger(__name__)


    class Extract(Task):
        def run(self):
            data_manager.write("raw.csv", pd.DataFrame({"x": [1, 2, 3]}))
            default_storage.touch(default_storage.runpath("notes/extract.txt"), "extracted")


    class Train(Task):
        def run(self):
            frame = data_manager.read("raw.csv")
            log.info("training on %d rows", len(frame))
            if not default_storage.exists("flags/ready"):
                raise RuntimeError("the data is not ready")
            data_manager.write("model.parquet", frame.assign(y=frame.x * 2))


    class Publish(Task):
        def run(self):
            total = int(data_manager.read("model.parquet").y.sum())
            default_storage.touch(default_storage.runpath("published.txt"), str(total))
"""

DAGS = """
    from tether.exec import DAG
    from .tasks import Extract, Publish, Train


    class PipelineDAG(DAG):
        label = "pipeline"
        tasks = [Extract, Train, Publish]
"""


def s3_store(s3_server, bucket):
    settings = f"""
        from .settings import *

        STORAGE_ROOT = "s3://{bucket}/project"
    """
    storage = S3Storage(f"s3://{bucket}/project", **s3_server.storage_options())
    return settings, s3_server.env(), storage


def gcs_store(gcs_server, bucket):
    settings = f"""
        from .settings import *

        STORAGE_BACKEND = "tether.files.storages.google.GoogleStorage"
        STORAGE_ROOT = "data/"
        GOOGLE_GCS_BUCKET = "{bucket}"
    """
    storage = GoogleStorage(f"gs://{bucket}/data", **gcs_server.storage_options())
    return settings, gcs_server.env(), storage


@pytest.fixture(params=["s3", "gcs"])
def remote_project(request, project):
    """The project, its settings for the store, the environment, and a storage at its root."""
    server = request.getfixturevalue(f"{request.param}_server")
    make = s3_store if request.param == "s3" else gcs_store
    settings, env, storage = make(server, server.create_bucket())
    project.write("configs/remote.py", settings)
    project.add_module("pipeline", tasks=TASKS, dags=DAGS)
    return project, {**env, "TETHER_SETTINGS_MODULE": "configs.remote"}, storage


def test_a_dag_runs_fails_and_resumes_in_the_bucket(remote_project):
    project, env, storage = remote_project

    failed = project.run("dag", "pipeline", env=env)
    assert failed.code == 1, failed.err
    assert "task train raised RuntimeError: the data is not ready" in failed.err
    (run_json,) = [path for path in storage.find("runs") if path.endswith("/run.json")]
    folder = run_json.rpartition("/")[0]
    record = json.loads(storage.read(run_json))
    assert record["status"] == "failed" and record["failed_task"] == "train"
    assert f"Resume with: python manage.py dag pipeline --retry {folder} --from-task train" in failed.err
    assert set(storage.find(folder)) >= {
        f"{folder}/context.yaml",
        f"{folder}/run.json",
        f"{folder}/raw.csv",
        f"{folder}/notes/extract.txt",
        f"{folder}/logs/extract.log",
        f"{folder}/logs/train.log",
    }
    assert "the data is not ready" in storage.read(f"{folder}/logs/train.log", "r")
    assert not (project.root / "data" / "runs").exists(), "nothing of the run is on local disk"

    storage.touch("flags/ready", "")
    resumed = project.run("dag", "pipeline", "--retry", f"/{folder}/", "--from-task", "train", env=env)
    assert resumed.code == 0, resumed.err
    record = json.loads(storage.read(run_json))
    assert record["status"] == "success" and record["run_id"] == folder.rpartition("/")[2]
    assert storage.read(f"{folder}/published.txt", "r") == "12"
    assert storage.isfile(f"{folder}/model.parquet")
    context = storage.read(f"{folder}/context.yaml", "r")
    assert record["run_id"] in context
    train_log = storage.read(f"{folder}/logs/train.log", "r")
    assert train_log.count("training on 3 rows") == 2, "the log of the retry is appended"
    assert storage.find(folder).count(f"{folder}/notes/extract.txt") == 1

    # Forget the local catalog: the runs are read back from the bucket.
    shutil.rmtree(project.root / ".tether", ignore_errors=True)
    assert project.run("catalog", "rebuild", env=env).code == 0
    listed = project.run("runs", "ls", env=env)
    assert listed.code == 0, listed.err
    assert record["run_id"][:8] in listed.out and "success" in listed.out
    shown = project.run("runs", "show", record["run_id"][:8], env=env)
    assert shown.code == 0, shown.err
    assert folder in shown.out and "success" in shown.out


@pytest.mark.parametrize("remote_project", ["gcs"], indirect=True)
def test_a_missing_bucket_is_one_line_and_exit_2(remote_project):
    project, env, storage = remote_project
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    settings = (project.root / "configs" / "remote.py").read_text()
    project.write("configs/remote.py", settings.replace(storage.bucket, missing))
    result = project.run("dag", "pipeline", env=env)
    assert result.code == 2
    # Other lines on stderr are log records the project's LOGGING lets through.
    (error,) = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in result.err
    assert f"bucket {missing!r} does not exist" in error and "create it" in error
