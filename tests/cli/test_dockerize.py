"""`tether dockerize`: a build context that runs the project with the tether it carries."""

from __future__ import annotations

import os
import subprocess
import sys

import tether


def _tasks(project) -> None:
    project.add_module("etl", tasks="""
        from tether.exec import Task

        class Hello(Task):
            def run(self):
                print("hello from the image")
    """, dags="""
        from tether.exec import DAG
        from .tasks import Hello

        class HelloDAG(DAG):
            label = "hello"
            tasks = [Hello]
    """)


def test_the_context_holds_the_project_tether_and_its_requirements(project):
    _tasks(project)
    (project.root / "data" / "big.csv").write_text("a\n1\n")
    (project.root / "requirements.txt").write_text("scikit-learn>=1.4\n")
    result = project.run("dockerize", "--extra", "s3", "--tag", "demo-image")
    assert result.code == 0, result.err
    context = project.root / "build" / "docker"
    assert "docker build -t demo-image" in result.out
    dockerfile = (context / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "manage.py"]' in dockerfile
    assert f"FROM python:{sys.version_info[0]}.{sys.version_info[1]}-slim" in dockerfile
    requirements = (context / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("click") for line in requirements)
    assert any(line.startswith("s3fs") for line in requirements)
    assert not any(line.startswith(("gcsfs", "pytest", "moto")) for line in requirements)
    assert requirements[-1] == "scikit-learn>=1.4"
    assert (context / "project" / "manage.py").is_file()
    assert (context / "project" / "etl" / "tasks.py").is_file()
    assert not (context / "project" / "data").exists()
    assert not (context / "project" / "build").exists()
    assert (context / "tether" / "__init__.py").is_file()
    assert not list((context / "tether").rglob("__pycache__"))
    assert not [p for p in context.parent.iterdir() if p.name.startswith(".docker")]


def test_the_image_layout_runs_a_dag_with_the_copied_tether(project, tmp_path):
    _tasks(project)
    assert project.run("dockerize", "--output", str(tmp_path / "ctx")).code == 0
    context = tmp_path / "ctx"
    # What the image does: PYTHONPATH=/opt/tether, WORKDIR /app, python manage.py ...
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(context)
    where = subprocess.run([sys.executable, "-c", "import tether; print(tether.__file__)"], cwd=context / "project",
                           env=env, capture_output=True, text=True)
    assert where.stdout.strip() == str(context / "tether" / "__init__.py")
    assert where.stdout.strip() != tether.__file__
    run = subprocess.run([sys.executable, "manage.py", "dag", "hello"], cwd=context / "project", env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert list((context / "project" / "data" / "runs").rglob("run.json"))


def test_writing_again_replaces_the_context(project):
    assert project.run("dockerize").code == 0
    stale = project.root / "build" / "docker" / "project" / "stale.py"
    stale.write_text("")
    assert project.run("dockerize").code == 0
    assert not stale.exists()


def test_bad_input_is_one_line(project):
    inside = project.run("dockerize", "--output", "configs/docker")
    assert inside.code == 2 and "would copy itself" in inside.err and len(inside.err.strip().splitlines()) == 1
    extra = project.run("dockerize", "--extra", "nosuch")
    assert extra.code == 2 and "unknown extra nosuch; choose from" in extra.err
    version = project.run("dockerize", "--python", "latest")
    assert version.code == 2 and "is not a Python version" in version.err
    assert not (project.root / "configs" / "docker").exists()


def test_build_without_docker_says_how_to_build(project):
    env = {"PATH": os.path.dirname(sys.executable)}
    result = project.run("dockerize", "--build", env=env)
    assert result.code == 2
    assert "docker is not on PATH" in result.err and "docker build -t demo" in result.err
