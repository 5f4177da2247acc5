"""DaskExecutor: tasks on a dask.distributed cluster (a local one by default).

Each task runs in a dask worker process that rebuilds the run from its run
folder, so STORAGE_ROOT must be reachable from every worker: any folder on one
machine, or a shared bucket (`s3://`, `gs://`) for a real cluster. The project
must be importable on the workers too (installed there, or the same path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured
from tether.exec.executors.process import ProcessExecutor, lost_task, schedule

if TYPE_CHECKING:
    from tether.exec.dag import Plan
    from tether.exec.runner import TaskRunner

_INSTALL = "the dask executor needs dask.distributed: pip install 'tether[dask]' (or pip install distributed)"


class DaskExecutor(ProcessExecutor):
    """Run tasks on dask.distributed, each as soon as its upstream tasks succeed.

    Options (EXECUTOR_OPTIONS or the CLI):
        address: the scheduler of an existing cluster (`tcp://127.0.0.1:8786`);
            without it, a LocalCluster of worker processes is started for the run.
        workers: worker processes of the local cluster, and how many tasks run at
            once (default: the number of CPUs).
    """

    name = "dask"

    def execute(self, plan: Plan, runner: TaskRunner) -> None:
        """Run the tasks of `plan` on the cluster."""
        try:
            from distributed import Client, LocalCluster, wait
        except ImportError:
            raise ImproperlyConfigured(_INSTALL) from None
        from tether.exec.worker import WorkerSetup, run_task_in_worker

        setup = WorkerSetup.capture(plan.dag, runner.record.run_folder, runner.storage)
        workers = min(self.workers, max(1, len(plan.tasks)))
        address = self.options.get("address")
        cluster = None
        if address:
            client = Client(address)
        else:
            # One thread per worker: a worker process runs one task at a time,
            # with its own log and context.
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        run_id = runner.record.run_id

        def submit(label: str) -> Any:
            return client.submit(run_task_in_worker, label, setup, key=f"{label}-{run_id}", pure=False)

        def wait_first(futures: list[Any]) -> Any:
            return wait(futures, return_when="FIRST_COMPLETED").done

        try:
            schedule(plan, runner, workers, submit, lost_task, wait_first)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
