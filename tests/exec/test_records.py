"""What a run records about where it ran."""

from __future__ import annotations

import platform

from tether.exec.records import environment, platform_name


def test_the_platform_is_named_as_the_standard_library_names_it():
    assert platform_name() == platform.platform()


def test_the_environment_of_a_run(tmp_path):
    found = environment(str(tmp_path))
    assert found["platform"] == platform.platform()
    assert {"host", "user", "python", "tether_version", "cwd", "git"} <= set(found)
