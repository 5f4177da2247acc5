"""`tether airflow generate`: Airflow DAG files whose tasks call `manage.py dag`."""

from __future__ import annotations

import json
import os
import re

import click

RUN_FOLDER_VARIABLE = "{RUN_FOLDER}"


@click.group()
def airflow() -> None:
    """Generate Airflow DAG files from tether DAGs."""


def task_command(label: str, task: str) -> list[str]:
    """The command an Airflow task runs: one tether task in the run folder of the Airflow run."""
    return ["python", "manage.py", "dag", label, "--retry", RUN_FOLDER_VARIABLE, "--task", task]


def _identifier(label: str) -> str:
    name = re.sub(r"\W", "_", label)
    return f"task_{name}" if not name or name[0].isdigit() or name in ("dag", "models", "k8s", "datetime") else name


def _python_list(command: list[str]) -> str:
    """The command as a Python list literal whose run folder is the file's RUN_FOLDER."""
    parts = ("RUN_FOLDER" if part == RUN_FOLDER_VARIABLE else json.dumps(part) for part in command)
    return f"[{', '.join(parts)}]"


@airflow.command()
@click.argument("dest", type=click.Path(file_okay=False))
@click.argument("label", required=False)
def generate(dest: str, label: str | None) -> None:
    """Write an Airflow DAG file into DEST for the DAG LABEL (or for every DAG)."""
    import jinja2

    from tether.conf import settings
    from tether.exec.registry import get_registry

    registry = get_registry()
    dags = [registry.get(label)] if label else [registry.dags[name] for name in sorted(registry.dags)]
    if settings.AIRFLOW_TEMPLATE:
        with open(settings.AIRFLOW_TEMPLATE, encoding="utf-8") as handle:
            source = handle.read()
    else:
        from importlib import resources

        source = (resources.files("tether.cli") / "templates" / "airflow" / "dag.py.j2").read_text("utf-8")
    template = jinja2.Environment(keep_trailing_newline=True, trim_blocks=True).from_string(source)
    os.makedirs(dest, exist_ok=True)
    for dag in dags:
        plan = dag.plan()
        tasks = [
            {
                "label": task.label,
                "identifier": _identifier(task.label),
                "command": _python_list(task_command(dag.label, task.label)),
            }
            for task in plan.tasks
        ]
        edges = [
            (_identifier(upstream), _identifier(task.label))
            for task in plan.tasks for upstream in sorted(plan.upstream[task.label])
        ]
        text = template.render(
            label=dag.label, dag_id=f"{settings.AIRFLOW_DAG_PREFIX}{dag.label}", tasks=tasks, edges=edges,
            schedule=dag.extra_options.get("airflow_schedule"), image=settings.AIRFLOW_IMAGE,
            namespace=settings.AIRFLOW_NAMESPACE, k8s_config=settings.AIRFLOW_KUBERNETES_CONFIG,
            pod_resources=settings.AIRFLOW_POD_RESOURCES, configmaps=list(settings.AIRFLOW_CONFIGMAPS),
        )
        path = os.path.join(dest, f"{settings.AIRFLOW_DAG_PREFIX}{dag.label}.py")
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        click.echo(f"Wrote {path}")
