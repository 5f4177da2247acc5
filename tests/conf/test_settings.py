import os
import sys
import textwrap

import pytest

from tether.conf import global_settings, settings
from tether.conf.settings import LazySettings
from tether.exceptions import ImproperlyConfigured
from tether.testing import override_settings


@pytest.fixture
def settings_package(tmp_path, monkeypatch):
    """A `configs` package with base and prod settings, importable from tmp_path."""
    package = tmp_path / "configs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(textwrap.dedent(f"""
        import os
        BASE_DIR = {str(tmp_path)!r}
        STORAGE_ROOT = os.path.join(BASE_DIR, "data")
        INSTALLED_MODULES = ["alpha"]
    """))
    (package / "prod.py").write_text(textwrap.dedent("""
        from .base import *
        STORAGE_ROOT = "/srv/prod-data"
        GOOGLE_GCS_BUCKET = "mybucket-1234"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name == "configs" or name.startswith("configs.")]:
        del sys.modules[name]


def test_every_default_is_documented_with_a_comment():
    source = open(global_settings.__file__).read().splitlines()
    names = [name for name in dir(global_settings) if name.isupper()]
    assert len(names) > 20
    for name in names:
        index = next(i for i, line in enumerate(source) if line.startswith(f"{name} ="))
        above = source[index - 1]
        grouped = above.startswith(tuple(n for n in names if n != name))
        assert above.startswith("#") or grouped, f"{name} has no comment"


def test_settings_module_layers_over_defaults(settings_package, monkeypatch):
    monkeypatch.setenv("TETHER_SETTINGS_MODULE", "configs.base")
    assert settings.INSTALLED_MODULES == ["alpha"]
    assert settings.STORAGE_ROOT == os.path.join(str(settings_package), "data")
    # A setting the module leaves out has its default, never an AttributeError.
    assert settings.ALLOW_PICKLE is False
    assert settings.CONFIG_PATH == os.path.join(str(settings_package), "configs")
    assert settings.CATALOG_URL.endswith(os.path.join(".tether", "catalog.sqlite3"))


def test_per_environment_module_star_imports_base(settings_package, monkeypatch):
    monkeypatch.setenv("TETHER_SETTINGS_MODULE", "configs.prod")
    assert settings.STORAGE_ROOT == "/srv/prod-data"
    assert settings.GOOGLE_GCS_BUCKET == "mybucket-1234"
    assert settings.INSTALLED_MODULES == ["alpha"]


def test_missing_settings_module_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TETHER_SETTINGS_MODULE", "nowhere.settings")
    with pytest.raises(ImproperlyConfigured, match="'nowhere.settings'.*was not found"):
        settings.STORAGE_ROOT


def test_unconfigured_settings_say_what_to_do():
    with pytest.raises(ImproperlyConfigured, match="TETHER_SETTINGS_MODULE.*configure"):
        settings.STORAGE_ROOT


def test_settings_are_lazy_and_read_only(settings_package, monkeypatch):
    lazy = LazySettings()
    monkeypatch.setenv("TETHER_SETTINGS_MODULE", "configs.base")
    assert not lazy.configured
    assert lazy.INSTALLED_MODULES == ["alpha"]
    with pytest.raises(AttributeError, match="override_settings"):
        lazy.STORAGE_ROOT = "x"


def test_configure_without_a_module(tmp_path):
    settings.configure(BASE_DIR=str(tmp_path), ALLOW_PICKLE=True)
    assert settings.ALLOW_PICKLE is True
    assert settings.STORAGE_ROOT == os.path.join(str(tmp_path), "data")
    with pytest.raises(RuntimeError, match="already configured"):
        settings.configure(ALLOW_PICKLE=False)


def test_lower_case_settings_are_refused():
    with pytest.raises(ImproperlyConfigured, match="not upper case"):
        settings.configure(storage_root="x")


def test_override_settings_as_block_and_decorator(tmp_path):
    settings.configure(BASE_DIR=str(tmp_path))
    generation = settings.generation
    with override_settings(ALLOW_PICKLE=True, BASE_DIR="/elsewhere"):
        assert settings.ALLOW_PICKLE is True
        # Derived defaults follow the overridden BASE_DIR.
        assert settings.STORAGE_ROOT == os.path.join("/elsewhere", "data")
        assert settings.generation > generation
    assert settings.ALLOW_PICKLE is False

    @override_settings(EXECUTOR_OPTIONS={"workers": 3})
    def decorated():
        return settings.EXECUTOR_OPTIONS

    assert decorated() == {"workers": 3}
    assert settings.EXECUTOR_OPTIONS == {}


def test_settings_module_that_raises_is_reported(tmp_path, monkeypatch):
    (tmp_path / "broken_settings.py").write_text("X = 1/0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TETHER_SETTINGS_MODULE", "broken_settings")
    with pytest.raises(ImproperlyConfigured, match="ZeroDivisionError"):
        settings.X
