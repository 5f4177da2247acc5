"""HTML reports of runs: DAG runs here, experiment runs in `tether.experiments.report`."""

from tether.reports.dag import reports_path, task_graph, write_run_report

__all__ = ["reports_path", "task_graph", "write_run_report"]
