"""`tether.bundles` offers every function and class of Disdat's API, with the seed's arguments."""

from __future__ import annotations

import inspect

import pytest

import tether.bundles as api

# Disdat's API (seeds/disdat-api.txt): name -> (parameters, defaults of those that have one).
SEED_FUNCTIONS = {
    "add": ("local_context bundle_name path tags", {"tags": None}),
    "apply": (
        "local_context transform output_bundle input_tags output_tags force force_all params output_bundle_uuid"
        " central_scheduler workers incremental_push incremental_pull",
        {"output_bundle": "-", "force": False, "force_all": False, "workers": 1, "incremental_pull": False},
    ),
    "cat": ("local_context bundle_name", {}),
    "commit": ("local_context bundle_name tags uuid", {"tags": None, "uuid": None}),
    "context": ("context_name", {}),
    "current_context": ("", {}),
    "delete_context": ("context_name remote force", {"remote": False, "force": False}),
    "dockerize": ("setup_dir config_dir build push sagemaker", {"build": True, "push": False, "sagemaker": False}),
    "get": ("local_context bundle_name uuid tags", {"uuid": None, "tags": None}),
    "lineage": ("local_context uuid max_depth", {"max_depth": None}),
    "ls_contexts": ("", {}),
    "pull": ("local_context bundle_name uuid localize", {"bundle_name": None, "localize": False}),
    "push": ("local_context bundle_name tags uuid", {"tags": None, "uuid": None}),
    "remote": ("local_context remote_context remote_url force", {"force": False}),
    "rm": (
        "local_context bundle_name uuid tags rm_all rm_old_only force",
        {"bundle_name": None, "rm_all": False, "rm_old_only": False, "force": False},
    ),
    "run": (
        "local_context remote_context setup_dir pipe_cls pipeline_args output_bundle remote backend input_tags"
        " output_tags force force_all no_pull no_push no_push_int vcpus memory workers no_submit"
        " aws_session_token_duration job_role_arn",
        {"backend": "Local", "vcpus": 2, "memory": 4000, "aws_session_token_duration": 42300},
    ),
    "search": (
        "local_context search_name search_tags is_committed find_intermediates find_roots before after",
        {"search_name": None, "is_committed": None, "find_intermediates": False, "find_roots": False},
    ),
    "set_aws_profile": ("aws_profile", {}),
    "switch": ("context_name", {}),
}
SEED_METHODS = {
    "add_data": "data",
    "add_dependency": "bundle",
    "add_tags": "tags",
    "cat": "",
    "commit": "",
    "copy_in_file": "existing_file",
    "db_table": "dsn table_name schema_name",
    "fill_from_hfr": "hfr",
    "make_directory": "dir_name",
    "make_file": "filename",
    "pull": "localize",
    "push": "",
    "rm": "",
    "open": "",
    "close": "",
    "abandon": "",
    "add_params": "params",
    "add_dependencies": "bundles arg_names",
    "add_code_ref": "code_ref",
    "add_git_info": "repo commit branch",
    "add_timing": "start_time stop_time",
}
SEED_PROPERTIES = (
    "creation_date lineage name owner params processing_name tags user_tags uuid data closed"
    " dependencies code_ref timing git_info local_dir remote_dir is_presentable"
).split()


def _names(function) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


@pytest.mark.parametrize("name", SEED_FUNCTIONS)
def test_every_seed_function_takes_the_seed_arguments(name):
    parameters, defaults = SEED_FUNCTIONS[name]
    function = getattr(api, name)
    expected = parameters.split()
    assert _names(function)[: len(expected)] == expected
    signature = inspect.signature(function)
    for argument, default in defaults.items():
        assert signature.parameters[argument].default == default, argument
    extra = [p for p in signature.parameters.values() if p.name not in expected]
    assert all(p.default is not inspect.Parameter.empty for p in extra)


@pytest.mark.parametrize("name", SEED_METHODS)
def test_every_seed_bundle_method_takes_the_seed_arguments(name):
    expected = SEED_METHODS[name].split()
    assert _names(getattr(api.Bundle, name))[: len(expected)] == expected


def test_bundle_takes_the_seed_constructor_arguments_and_the_properties():
    assert _names(api.Bundle)[:3] == ["local_context", "name", "data"]
    assert "owner" in _names(api.Bundle)
    for name in SEED_PROPERTIES:
        assert isinstance(getattr(api.Bundle, name), property), name


def test_all_lists_the_public_names_and_pipe_classes():
    assert set(SEED_FUNCTIONS) <= set(api.__all__)
    assert {"Bundle", "PipeTask", "BundleWrapperTask", "downstream", "LineageRecord"} <= set(api.__all__)
    assert all(hasattr(api, name) for name in api.__all__)
    assert api.__doc__


def test_importing_tether_bundles_does_not_import_pandas():
    import subprocess
    import sys

    code = "import sys, tether.bundles; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
