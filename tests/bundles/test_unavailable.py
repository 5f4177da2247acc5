"""Seed functions tether does not offer accept their arguments and fail saying what to use."""

from __future__ import annotations

import pytest

import tether.bundles as api


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: api.apply("ctx", object, output_bundle="-", force_all=True, workers=2), "tether dag LABEL"),
        (
            lambda: api.run("ctx", "remote", "setup", "pkg.Pipe", {}, backend="AWSBatch", vcpus=4, job_role_arn="arn"),
            "tether dag LABEL",
        ),
        (lambda: api.dockerize("setup", config_dir=None, build=False, push=False, sagemaker=True), "tether dockerize"),
        (lambda: api.set_aws_profile("default"), "AWS_"),
    ],
    ids=["apply", "run", "dockerize", "set_aws_profile"],
)
def test_unavailable_functions_say_why_and_what_to_use(call, message):
    with pytest.raises(api.NotAvailableError, match=message):
        call()


def test_pipe_tasks_can_be_defined_but_not_run():
    class Train(api.PipeTask):
        pass

    with pytest.raises(api.NotAvailableError, match="Train is a Disdat PipeTask.*tether dag LABEL"):
        Train(param=1)
    with pytest.raises(api.NotAvailableError, match="BundleWrapperTask"):
        api.BundleWrapperTask()


def test_not_available_errors_are_tether_errors():
    from tether.exceptions import TetherError

    assert issubclass(api.NotAvailableError, TetherError) and issubclass(api.NotAvailableError, NotImplementedError)
