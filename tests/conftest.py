"""Shared fixtures: every test starts from unconfigured settings and no active context."""

from __future__ import annotations

import pytest

from tether.conf import settings
from tether.conf import context as context_module

pytest_plugins = ["tether.testing.fixtures"]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TETHER_SETTINGS_MODULE", raising=False)
    saved = list(settings._stack)
    settings.reset()
    yield
    settings._stack[:] = saved
    settings.generation += 1
    del context_module._process_current[:]
