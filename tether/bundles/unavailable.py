"""Disdat functions tether does not offer: each takes its seed arguments and says what to use.

Disdat's pipelines (`apply`, `run`, `dockerize`, `PipeTask`) are replaced by
tether's DAGs: define `tether.exec.Task`s in a `DAG` and run `tether dag LABEL`;
a task's outputs become a bundle named `<dag>.<task>`.
"""

from __future__ import annotations

from typing import Any

from tether.bundles.errors import NotAvailableError

__all__ = [
    "BundleWrapperTask",
    "PipeTask",
    "apply",
    "dockerize",
    "run",
    "set_aws_profile",
]

_DAGS = (
    "tether runs pipelines as DAGs instead: define tether.exec.Task classes in a tether.exec.DAG and"
    " run `tether dag LABEL` (each task's outputs become a bundle named <dag>.<task>)"
)


def set_aws_profile(aws_profile: str) -> None:
    """Not available: tether reads AWS settings from its settings (`AWS_*`), not a profile switch.

    Raises:
        NotAvailableError: always.
    """
    raise NotAvailableError(
        "set_aws_profile() is not available: set AWS_S3_REGION_NAME, AWS_S3_ENDPOINT_URL and the"
        " other AWS_* settings, or the AWS_PROFILE environment variable before starting"
    )


def apply(
    local_context: str | None,
    transform: Any,
    output_bundle: str = "-",
    input_tags: dict[str, str] | None = None,
    output_tags: dict[str, str] | None = None,
    force: bool = False,
    force_all: bool = False,
    params: dict[str, Any] | None = None,
    output_bundle_uuid: str | None = None,
    central_scheduler: bool = False,
    workers: int = 1,
    incremental_push: bool = False,
    incremental_pull: bool = False,
) -> int:
    """Not available: Disdat's Luigi pipelines are tether DAGs.

    Raises:
        NotAvailableError: always, saying to use `tether dag LABEL`.
    """
    raise NotAvailableError(f"apply() is not available: {_DAGS}")


def run(
    local_context: str | None,
    remote_context: str | None,
    setup_dir: str,
    pipe_cls: str,
    pipeline_args: dict[str, Any],
    output_bundle: str = "-",
    remote: str | None = None,
    backend: str = "Local",
    input_tags: dict[str, str] | None = None,
    output_tags: dict[str, str] | None = None,
    force: bool = False,
    force_all: bool = False,
    no_pull: bool = False,
    no_push: bool = False,
    no_push_int: bool = False,
    vcpus: int = 2,
    memory: int = 4000,
    workers: int = 1,
    no_submit: bool = False,
    aws_session_token_duration: int = 42300,
    job_role_arn: str | None = None,
) -> str:
    """Not available: containers on AWS Batch or SageMaker are not part of tether.

    Raises:
        NotAvailableError: always, saying to use `tether dag LABEL` (and `tether dockerize`).
    """
    raise NotAvailableError(
        f"run() is not available: tether does not submit to AWS Batch or SageMaker; {_DAGS},"
        " and `tether dockerize` builds a container of the project"
    )


def dockerize(
    setup_dir: str,
    config_dir: str | None = None,
    build: bool = True,
    push: bool = False,
    sagemaker: bool = False,
) -> int:
    """Not available here: `tether dockerize` writes a Dockerfile and build context for the project.

    Raises:
        NotAvailableError: always.
    """
    raise NotAvailableError(
        "dockerize() is not available from the bundle API: run `tether dockerize` in the project,"
        " which writes a Dockerfile and build context (SageMaker images are not supported)"
    )


class PipeTask:
    """Not available: Disdat's Luigi tasks are `tether.exec.Task`s run in a DAG (`tether dag LABEL`).

    Subclassing works, so modules that define PipeTasks still import;
    instantiating one raises `NotAvailableError`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotAvailableError(f"{type(self).__name__} is a Disdat PipeTask, which tether does not run; {_DAGS}")


class BundleWrapperTask(PipeTask):
    """Not available: in a tether DAG, read an existing bundle with `tether.bundles.get` in a Task."""
