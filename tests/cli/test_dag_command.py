"""`tether dag`: failures, retry with patches, --from-task, --task, --dry-run, environments."""

import pytest
import yaml

FLAKY_TASKS = """
    from pathlib import Path

    from tether.conf import default_context
    from tether.exec import Task
    from tether.files.storages import default_storage


    def mark(name):
        path = f"{default_context.meta.run_folder}/ran/{name}"
        count = int(default_storage.read(path, "r")) if default_storage.exists(path) else 0
        default_storage.touch(path, str(count + 1))


    class Prepare(Task):
        def run(self):
            mark("prepare")


    class Train(Task):
        def run(self):
            mark("train")
            if default_context.train.fail:
                raise RuntimeError("training diverged")


    class Publish(Task):
        def run(self):
            mark("publish")
"""

FLAKY_DAG = """
    from tether.exec import DAG
    from .tasks import Prepare, Publish, Train


    class ModelDAG(DAG):
        label = "model"
        tasks = [Prepare, Train, Publish]
"""


@pytest.fixture
def flaky(project):
    project.write("configs/context.yaml", "train:\n  fail: true\n  epochs: 1\n")
    project.add_module("model", tasks=FLAKY_TASKS, dags=FLAKY_DAG)
    return project


def ran(project, record):
    folder = project.run_folder(record) / "ran"
    return {p.name: int(p.read_text()) for p in folder.iterdir()} if folder.exists() else {}


def test_failed_run_exits_1_names_the_task_and_prints_the_resume_command(flaky):
    result = flaky.run("dag", "model")
    assert result.code == 1
    assert "task train raised RuntimeError: training diverged" in result.err
    (record,) = flaky.runs()
    assert record["status"] == "failed"
    assert record["failed_task"] == "train"
    assert record["tasks"]["publish"]["status"] == "pending"
    resume = f"python manage.py dag model --retry {record['run_folder']} --from-task train"
    assert f"Resume with: {resume}" in result.err
    assert record["resume"] == resume
    log = (flaky.run_folder(record) / "logs" / "train.log").read_text()
    assert "Traceback" in log and "training diverged" in log
    assert "Traceback" not in result.err


def test_retry_applies_patches_and_resumes_from_the_failed_task(flaky):
    assert flaky.run("dag", "model").code == 1
    (record,) = flaky.runs()
    folder = record["run_folder"]
    # --patch reads from storage, --local-patch from this machine.
    (flaky.root / "data" / "fix.yaml").write_text("train:\n  fail: false\n")
    (flaky.root / "more.yaml").write_text("train:\n  epochs: 7\n")
    result = flaky.run(
        "dag", "model", "--retry", folder, "--from-task", "train",
        "--patch", "fix.yaml", "--local-patch", "more.yaml", "--set", "train.note=retried",
    )
    assert result.code == 0, result.err
    (again,) = flaky.runs()
    assert again["run_id"] == record["run_id"]
    assert again["status"] == "success"
    assert ran(flaky, again) == {"prepare": 1, "train": 2, "publish": 1}
    context = yaml.safe_load((flaky.run_folder(again) / "context.yaml").read_text())
    assert context["train"] == {"fail": False, "epochs": 7, "note": "retried"}
    assert context["meta"]["run_id"] == record["run_id"]
    attempt = again["attempts"][-1]
    assert attempt["patches"] == ["fix.yaml"]
    assert attempt["sets"] == ["train.note=retried"]
    kept = sorted(p.name for p in (flaky.run_folder(again) / "patches").iterdir())
    assert kept == ["2-0-fix.yaml", "2-1-more.yaml"]


def test_retry_of_a_missing_folder_starts_a_run_there(flaky):
    result = flaky.run("dag", "model", "--retry", "/runs/2024/01/01/my-run/", "--set", "train.fail=false")
    assert result.code == 0, result.err
    (record,) = flaky.runs()
    assert record["run_id"] == "my-run"
    assert record["run_folder"] == "runs/2024/01/01/my-run"


def test_task_runs_only_tasks_of_the_dag(flaky):
    result = flaky.run("dag", "model", "--task", "prepare", "--task", "publish")
    assert result.code == 0, result.err
    (record,) = flaky.runs()
    assert ran(flaky, record) == {"prepare": 1, "publish": 1}
    assert record["plan"] == ["prepare", "publish"]


def test_task_outside_the_dag_is_refused_and_nothing_runs(flaky):
    flaky.write("other/__init__.py", "")
    flaky.write("other/tasks.py", """
        from tether.exec import DAG, Task

        class Outsider(Task):
            def run(self):
                raise SystemExit("must not run")

        class OtherDAG(DAG):
            label = "other"
            tasks = [Outsider]
    """)
    settings = flaky.root / "configs" / "settings.py"
    settings.write_text(settings.read_text().replace('"model",', '"model",\n    "other",'))
    result = flaky.run("dag", "model", "--task", "outsider")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "Error: task 'outsider' is not in DAG 'model' (tasks: prepare, train, publish)."
    ]
    assert not (flaky.root / "data" / "runs").exists()


def test_dry_run_prints_the_plan_and_writes_nothing(flaky):
    result = flaky.run("dag", "model", "--dry-run", "--set", "train.epochs=3")
    assert result.code == 0, result.err
    assert "1. prepare" in result.out and "3. publish" in result.out
    assert "epochs: 3" in result.out
    assert not (flaky.root / "data" / "runs").exists()


def test_settings_per_environment(flaky):
    flaky.write("configs/prod.py", """
        from .settings import *

        STORAGE_ROOT = os.path.join(BASE_DIR, "prod-data")
    """)
    result = flaky.run("dag", "model", "--set", "train.fail=false", env={"TETHER_SETTINGS_MODULE": "configs.prod"})
    assert result.code == 0, result.err
    assert list((flaky.root / "prod-data" / "runs").rglob("run.json"))
    assert not (flaky.root / "data" / "runs").exists()


def test_run_json_records_how_the_run_happened(flaky):
    result = flaky.run("dag", "model", "--set", "train.fail=false")
    assert result.code == 0, result.err
    (record,) = flaky.runs()
    env = record["environment"]
    assert env["python"] and env["host"] and env["tether_version"]
    assert "git" in env
    assert record["command"] == "python manage.py dag model --set train.fail=false"
    for task in record["tasks"].values():
        assert task["status"] == "success" and task["duration"] >= 0 and task["started_at"]
    assert record["reproduce"] == f"python manage.py dag model --patch {record['run_folder']}/context.yaml"


def test_reproduce_command_reruns_with_the_same_parameters(flaky):
    assert flaky.run("dag", "model", "--set", "train.fail=false", "--set", "train.epochs=9").code == 0
    (first,) = flaky.runs()
    args = first["reproduce"].split()[2:]
    assert flaky.run(*args).code == 0
    second = [r for r in flaky.runs() if r["run_id"] != first["run_id"]][0]
    context = yaml.safe_load((flaky.run_folder(second) / "context.yaml").read_text())
    assert context["train"]["epochs"] == 9


def test_task_retries_attribute(project):
    project.add_module("flap", tasks="""
        from tether.exec import Task

        calls = []

        class Flap(Task):
            retries = 2

            def run(self):
                calls.append(1)
                if len(calls) < 3:
                    raise ValueError(f"attempt {len(calls)}")
    """, dags="""
        from tether.exec import DAG
        from .tasks import Flap

        class FlapDAG(DAG):
            tasks = [Flap]
    """)
    result = project.run("dag", "flap")
    assert result.code == 0, result.err
    (record,) = project.runs()
    assert record["tasks"]["flap"]["attempts"] == 3


def test_dry_run_masks_secret_context_values(flaky):
    result = flaky.run("dag", "model", "--dry-run", "--set", "db.password=hunter2")
    assert result.code == 0, result.err
    assert "hunter2" not in result.out
    assert "password: '********'" in result.out
