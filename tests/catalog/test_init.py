"""open_catalog, catalog URLs and default_catalog."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tether.catalog import (
    Catalog,
    CatalogConfigError,
    CatalogError,
    catalog_path,
    default_catalog,
    open_catalog,
)
from tether.conf import settings
from tether.exceptions import ImproperlyConfigured


def test_sqlite_urls_absolute_and_relative(tmp_path):
    assert catalog_path(f"sqlite:///{tmp_path}/c.sqlite3") == str(tmp_path / "c.sqlite3")
    assert catalog_path("sqlite:///.tether/c.sqlite3", base_dir=tmp_path) == str(tmp_path / ".tether" / "c.sqlite3")


@pytest.mark.parametrize(
    "url",
    ["postgresql://ada:s3cret@db.example.com/tether", "mysql://host/db", "catalog.sqlite3", "sqlite://"],
)
def test_other_urls_are_refused_in_one_line(url):
    with pytest.raises(CatalogConfigError) as caught:
        open_catalog(url)
    message = str(caught.value)
    assert "only SQLite catalogs are supported for now" in message
    assert "\n" not in message and "s3cret" not in message
    assert isinstance(caught.value, ImproperlyConfigured) and isinstance(caught.value, CatalogError)


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", "sqlite:////tmp/c.db?mode=ro"])
def test_sqlite_urls_without_a_file_are_refused(url):
    with pytest.raises(CatalogConfigError, match="does not name a database file"):
        open_catalog(url)


def test_nothing_is_created_until_first_use_then_the_folder_is(tmp_path):
    path = tmp_path / "deep" / "er" / "catalog.sqlite3"
    catalog = open_catalog(f"sqlite:///{path}")
    assert isinstance(catalog, Catalog)
    assert not path.parent.exists()
    assert catalog.count_runs() == 0
    assert path.is_file()
    catalog.close()


def test_default_catalog_follows_settings(tmp_path, make_run):
    first, second = tmp_path / "one", tmp_path / "two"
    with settings.override(BASE_DIR=str(first)):
        assert default_catalog.url == f"sqlite:///{first}/.tether/catalog.sqlite3"
        default_catalog.record_run(make_run(0, run_id="in-one"))
        with settings.override(BASE_DIR=str(second)):
            assert default_catalog.count_runs() == 0
        assert default_catalog.get_run("in-one").run_id == "in-one"
    assert (first / ".tether" / "catalog.sqlite3").is_file()
    assert (second / ".tether" / "catalog.sqlite3").is_file()


def test_default_catalog_with_a_bad_url_fails_on_use(tmp_path):
    with settings.override(BASE_DIR=str(tmp_path), CATALOG_URL="postgresql://host/db"):
        with pytest.raises(CatalogConfigError, match="CATALOG_URL is a 'postgresql' URL"):
            default_catalog.count_runs()


def test_importing_the_catalog_stays_light():
    code = "import sys, tether.catalog; print('sqlite3' in sys.modules, 'tether.files.storages' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
