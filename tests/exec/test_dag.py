import pytest

from tether.exceptions import DAGError, TaskNotFoundError
from tether.exec import DAG, Task


class Extract(Task):
    def run(self):
        pass


class Transform(Task):
    def run(self):
        pass


class Load(Task):
    def run(self):
        pass


def test_task_label_defaults_to_snake_case():
    class ForecastTrainingTask(Task):
        pass

    assert ForecastTrainingTask.label == "forecast_training_task"
    assert Extract.label == "extract"


def test_list_order_is_a_chain():
    class Chain(DAG):
        label = "chain"
        tasks = [Load, Extract, Transform]

    plan = Chain.plan()
    assert plan.labels == ["load", "extract", "transform"]
    assert plan.upstream == {"load": set(), "extract": {"load"}, "transform": {"extract"}}


def test_dag_label_defaults_from_the_class_name():
    class TrainingDAG(DAG):
        tasks = [Extract]

    assert TrainingDAG.label == "training"


def test_requires_make_a_graph_and_diamonds_run_each_task_once():
    class Top(Task):
        pass

    class Left(Task):
        requires = (Top,)

    class Right(Task):
        requires = (Top,)

    class Bottom(Task):
        requires = (Left, Right)

    class Diamond(DAG):
        label = "diamond"
        tasks = [Bottom, Right, Left, Top]

    plan = Diamond.plan()
    assert plan.labels == ["top", "right", "left", "bottom"]
    assert plan.upstream["bottom"] == {"left", "right"}


def test_cycle_is_rejected_naming_the_classes():
    class A(Task):
        pass

    class B(Task):
        requires = (A,)

    A.requires = (B,)
    with pytest.raises(DAGError, match=r"Cyclic has a cycle through (A -> B -> A|B -> A -> B)"):
        class Cyclic(DAG):
            tasks = [A, B]


def test_required_task_outside_the_dag_is_rejected():
    class Needy(Task):
        requires = (Extract,)

    with pytest.raises(DAGError, match="Needy requires Extract, which is not in the DAG"):
        class Broken(DAG):
            tasks = [Needy]


def test_duplicate_labels_are_rejected_naming_both_classes():
    class Other(Task):
        label = "extract"

    with pytest.raises(DAGError, match="Extract and Other share the label 'extract'"):
        class Twice(DAG):
            tasks = [Extract, Other]
    with pytest.raises(DAGError, match="share the label"):
        class Repeated(DAG):
            tasks = [Extract, Extract]


def test_non_task_entries_are_rejected():
    with pytest.raises(DAGError, match=r"tasks\[1\] is 'load', not a Task class"):
        class Strings(DAG):
            tasks = [Extract, "load"]


def test_from_task_and_only_tasks():
    class Chain(DAG):
        tasks = [Extract, Transform, Load]

    assert Chain.plan(from_task="transform").labels == ["transform", "load"]
    only = Chain.plan(only=["load", "extract"])
    assert only.labels == ["extract", "load"]
    assert only.upstream == {"extract": set(), "load": set()}


def test_unknown_task_suggests_close_names():
    class Chain(DAG):
        tasks = [Extract, Transform]

    with pytest.raises(TaskNotFoundError, match="Did you mean: transform"):
        Chain.plan(only=["transfrom"])
    with pytest.raises(TaskNotFoundError, match="not in DAG 'chain'"):
        Chain.plan(from_task="load")


def test_start_task_runs_first():
    class Setup(Task):
        pass

    class Chain(DAG):
        tasks = [Extract, Transform]

    plan = Chain.plan(start_task=Setup)
    assert plan.labels == ["setup", "extract", "transform"]
    assert "setup" in plan.upstream["extract"]


def test_abstract_dag_without_tasks_is_allowed():
    class Base(DAG):
        pass

    assert Base.task_labels() == []
