"""`--store-full` with STORAGE_ROOT in an S3 bucket (moto's server on 127.0.0.1): staged here, uploaded when done."""

from __future__ import annotations

import json
import shutil

import pytest

from tether.catalog import default_catalog
from tether.conf import settings
from tether.experiments import run_experiment
from tether.experiments.errors import ExperimentError
from tether.files.storages import default_storage
from tests.experiments.conftest import reproduce
from tests.reports.conftest import Page


@pytest.fixture
def s3_chain(chain, s3_server, s3_bucket):
    """The `chain` project with STORAGE_ROOT at s3://<a new bucket>/root."""
    with settings.override(STORAGE_ROOT=f"s3://{s3_bucket}/root", **s3_server.settings()):
        yield chain


@pytest.mark.slow
def test_the_folder_is_uploaded_to_the_storage_and_reproduces_once_downloaded(s3_chain, tmp_path):
    manager = run_experiment("chain", ["base"], store_full=True)
    ref = manager.get_reference_name()
    key = f"experiments/{ref}"
    url = default_storage.abspath(key)
    assert url == f"{default_storage.root}/{key}" and url.startswith("s3://")
    assert manager.get_run_output_path() == url
    assert manager.get_run_output_path("params.json") == f"{url}/params.json"
    stored = {name.removeprefix(f"{key}/") for name in default_storage.find(key)}
    assert {"params.json", "params.pkl", "reproduce.sh", "requirements.txt", "environment.json", "run.log",
            "run_info.json", "report/index.html", "artifacts/cache_index.json"} <= stored
    assert len([name for name in stored if name.startswith("artifacts/") and name != "artifacts/cache_index.json"]) == 6
    info = json.loads(default_storage.read(f"{key}/run_info.json"))
    assert info["run_folder"] == url and info["status"] == "complete"
    assert default_catalog.get_run(ref).run_folder == key
    # The staging folder on this machine is kept, and is where the reproduce line points.
    staging = s3_chain.root / ".tether" / "experiments" / ref
    assert manager.get_run_staging_path() == str(staging)
    assert (staging / "run_info.json").is_file()
    assert manager.reproduction_line.startswith(f"cd {staging} && ")

    copy = tmp_path / "downloaded"
    default_storage.download(key, copy)
    shutil.rmtree(staging)
    shutil.rmtree(s3_chain.root / ".tether" / "cache")
    reproduce(copy, s3_chain.root, s3_chain.settings_module())
    page = Page((copy / "report" / "index.html").read_text())
    [log] = page.all("a", klass="link-log")
    assert (copy / "report" / log["href"]).resolve() == (copy / "run.log").resolve()


def test_a_failed_upload_is_one_line_and_leaves_no_run_info(s3_chain):
    def block_the_report(manager):
        # A file where the report's folder goes: the upload stops there.
        default_storage.touch(f"experiments/{manager.get_reference_name()}/report", "in the way")

    with pytest.raises(ExperimentError) as raised:
        run_experiment("chain", ["base"], store_full=True, on_planned=block_the_report)
    [entry] = default_catalog.list_runs(kind="experiment")
    key = f"experiments/{entry.run_id}"
    staging = s3_chain.root / ".tether" / "experiments" / entry.run_id
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot upload the full store of {entry.run_id} to {default_storage.abspath(key)}")
    assert f"the folder is kept in {staging}" in message
    # The run is recorded and its results cached; the uploaded part does not look complete.
    assert entry.status == "complete"
    assert len(list((s3_chain.root / ".tether" / "cache").rglob("*.json"))) >= 4
    assert default_storage.isfile(f"{key}/params.json")
    assert not default_storage.exists(f"{key}/run_info.json")
    assert (staging / "run_info.json").is_file()
