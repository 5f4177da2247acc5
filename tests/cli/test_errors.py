"""Bad input: one line on stderr naming the problem and the fix, exit 2, nothing written."""

import pytest

SIMPLE = dict(
    tasks="""
        from tether.exec import Task
        from tether.files.data import data_manager
        import pandas as pd

        class Extract(Task):
            def run(self):
                pass

        class Transform(Task):
            def run(self):
                pass
    """,
    dags="""
        from tether.exec import DAG
        from .tasks import Extract, Transform

        class EtlDAG(DAG):
            label = "etl"
            tasks = [Extract, Transform]
    """,
)


@pytest.fixture
def etl(project):
    project.add_module("etl", **SIMPLE)
    return project


def assert_clean_error(result, *fragments):
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error: ") or lines[0].startswith("Usage") or "Error" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.err


def assert_nothing_written(project):
    assert not (project.root / "data" / "runs").exists()


def test_unknown_dag_label_suggests_close_names(etl):
    result = etl.run("dag", "elt")
    assert_clean_error(result, "no DAG labelled 'elt'", "Did you mean: etl")
    assert_nothing_written(etl)


def test_task_not_in_dag(etl):
    assert_clean_error(etl.run("dag", "etl", "--from-task", "load"), "'load' is not in DAG 'etl'")
    assert_nothing_written(etl)


def test_cycle_is_reported_at_load_time_with_class_names(etl):
    etl.write("etl/tasks.py", """
        from tether.exec import Task

        class Extract(Task):
            pass

        class Transform(Task):
            requires = (Extract,)

        Extract.requires = (Transform,)
    """)
    result = etl.run("dag", "etl")
    assert_clean_error(result, "EtlDAG has a cycle through", "Extract", "Transform")
    assert_nothing_written(etl)


def test_missing_settings_module(etl):
    result = etl.run("dag", "etl", env={"TETHER_SETTINGS_MODULE": "configs.nope"})
    assert_clean_error(result, "'configs.nope'", "TETHER_SETTINGS_MODULE")
    assert_nothing_written(etl)


def test_dotted_path_that_does_not_import(etl):
    settings = etl.root / "configs" / "settings.py"
    settings.write_text(settings.read_text() + '\nEXECUTOR_BACKEND = "mypkg.executors.Fast"\n')
    result = etl.run("dag", "etl")
    assert_clean_error(result, "EXECUTOR_BACKEND = 'mypkg.executors.Fast'", "does not exist")
    assert_nothing_written(etl)


def test_malformed_yaml_names_file_and_line(etl):
    etl.write("configs/zz.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    result = etl.run("dag", "etl")
    assert_clean_error(result, "zz.yaml:", "malformed YAML")
    assert_nothing_written(etl)


@pytest.mark.parametrize("bad", ["novalue", "a..b=1", "meta.run_id=1"])
def test_malformed_set(etl, bad):
    result = etl.run("dag", "etl", "--set", bad)
    assert_clean_error(result, f"--set {bad!r}")
    assert_nothing_written(etl)


@pytest.mark.parametrize("option", ["--retry", "--patch"])
def test_path_escaping_storage_root(etl, option):
    result = etl.run("dag", "etl", option, "../../outside")
    assert_clean_error(result, "../../outside")
    assert_nothing_written(etl)
    assert not (etl.root.parent / "outside").exists()


def test_path_escaping_the_run_folder_inside_a_task_fails_the_task(etl):
    etl.write("etl/tasks.py", SIMPLE["tasks"] + """
        class Escape(Task):
            def run(self):
                data_manager.write("../../../../../escaped.csv", pd.DataFrame({"a": [1]}))
    """)
    etl.write("etl/dags.py", SIMPLE["dags"].replace("Extract, Transform]", "Extract, Transform, Escape]").replace(
        "import Extract, Transform", "import Escape, Extract, Transform"))
    result = etl.run("dag", "etl")
    assert result.code == 1
    assert "escapes" in result.err or "outside" in result.err
    assert not list(etl.root.rglob("escaped.csv"))


def test_traceback_only_on_request(etl):
    result = etl.run("dag", "elt", "--traceback")
    assert result.code != 0
    assert "Traceback" in result.err


def test_validation_survives_python_O(etl):
    """Command-line validation is not made of asserts, which -O strips."""
    result = etl.run("dag", "etl", "--task", "nope", python_flags=("-O",))
    assert_clean_error(result, "'nope' is not in DAG 'etl'")
    assert_nothing_written(etl)


def test_unknown_command_suggests(etl):
    result = etl.run("dga")
    assert result.code == 2
    assert "Did you mean: dag" in result.err


def test_startproject_refuses_an_existing_folder(project):
    result = project.tether("startproject", "configs")
    assert result.code == 2
    assert "shadow" in result.err or "exists" in result.err


def test_startmodule_refuses_bad_names(project):
    assert_clean_error(project.run("startmodule", "json"), "shadow")
    assert_clean_error(project.run("startmodule", "9lives"), "not a valid module name")
