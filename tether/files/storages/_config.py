"""Settings as storages read them: defaults apply when no settings are configured."""

from __future__ import annotations

import os
from typing import Any

from tether.conf import global_settings, settings
from tether.conf.settings import ENVIRONMENT_VARIABLE

__all__ = ["setting"]


def setting(name: str) -> Any:
    """The setting `name`, or its default from `global_settings` when no settings are configured.

    A storage built directly, in a script or a notebook without a project,
    then works with the documented defaults instead of failing.
    """
    if settings.configured or os.environ.get(ENVIRONMENT_VARIABLE):
        return getattr(settings, name)
    return getattr(global_settings, name)
