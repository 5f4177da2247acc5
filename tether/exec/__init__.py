"""Pipelines: DAGs of Tasks, and how they run."""

from tether.exec.dag import DAG, Plan
from tether.exec.task import Task

__all__ = ["DAG", "Task", "Plan"]
