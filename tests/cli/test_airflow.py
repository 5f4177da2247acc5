"""`tether airflow generate`: the files call commands that exist."""

import ast
import shlex


def test_generated_dag_calls_existing_commands(project):
    project.add_module("etl", tasks="""
        from tether.exec import Task

        class Extract(Task):
            def run(self):
                pass

        class Load(Task):
            requires = (Extract,)

            def run(self):
                pass
    """, dags="""
        from tether.exec import DAG
        from .tasks import Extract, Load

        class EtlDAG(DAG):
            label = "etl"
            tasks = [Extract, Load]
    """)
    result = project.run("airflow", "generate", "airflow_dags")
    assert result.code == 0, result.err
    source = (project.root / "airflow_dags" / "etl.py").read_text()
    tree = ast.parse(source)
    commands = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cmds":
            commands.append([elt.value if isinstance(elt, ast.Constant) else "runs/2024/01/02/airflow-run"
                             for elt in node.value.elts])
    assert len(commands) == 2
    assert "extract >> load" in source
    # Run each command as Airflow would, in order: they share one run folder.
    for command in commands:
        assert command[:3] == ["python", "manage.py", "dag"]
        done = project.run(*command[2:])
        assert done.code == 0, (shlex.join(command), done.err)
    (record,) = project.runs()
    assert record["run_id"] == "airflow-run"
    assert {t["status"] for t in record["tasks"].values()} == {"success"}
