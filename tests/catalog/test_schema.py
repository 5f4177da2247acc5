"""Schema versions and forward migrations."""

from __future__ import annotations

import sqlite3

import pytest

from tether.catalog import SchemaVersionError
from tether.catalog.schema import MIGRATIONS, SCHEMA_VERSION, Migration, migrate
from tether.catalog.sqlite import SQLiteCatalog

RUN_TABLES = {"runs", "task_runs", "metrics", "params"}
BUNDLE_TABLES = {"contexts", "bundles", "bundle_files", "blobs", "bundle_tags", "bundle_params", "lineage"}

# A step after the last real one, to test upgrades from the current schema.
NEXT = SCHEMA_VERSION + 1
EXTRA = Migration(
    NEXT,
    "runs get a note",
    ("ALTER TABLE runs ADD COLUMN note TEXT", "UPDATE runs SET note = 'from before'"),
)


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _indexes(path) -> dict[str, str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        return dict(rows.fetchall())


def _user_version(path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA user_version").fetchone()[0]


def test_a_fresh_catalog_gets_the_whole_schema(catalog):
    assert catalog.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert _tables(catalog.path) >= RUN_TABLES | BUNDLE_TABLES
    indexes = _indexes(catalog.path)
    for name in ("runs_by_started", "runs_by_dag", "bundles_by_name", "bundle_tags_by_value", "lineage_downstream"):
        assert name in indexes
    assert "(context, name, created_at)" in indexes["bundles_by_name"]
    assert "(key, value)" in indexes["bundle_tags_by_value"]


def test_bundle_tables_start_empty_and_hold_a_bundle(catalog):
    connection = catalog.database.connection()
    for table in BUNDLE_TABLES:
        assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0

    def add(c):
        c.execute("INSERT INTO contexts (name, created_at) VALUES ('ctx', '2024-01-01')")
        c.execute(
            "INSERT INTO bundles (uuid, context, name, created_at) VALUES ('u1', 'ctx', 'b', '2024-01-01')"
        )
        c.execute("INSERT INTO blobs VALUES ('h1', 3)")
        c.execute("INSERT INTO bundle_files VALUES ('u1', 'a/x.csv', 'h1', 3)")
        c.execute("INSERT INTO bundle_files VALUES ('u1', 'b/x.csv', 'h1', 3)")
        c.execute("INSERT INTO bundle_tags VALUES ('u1', 'k', 'v')")
        c.execute("INSERT INTO lineage VALUES ('u1', 'input', 'u0')")

    catalog.database.write(add)
    downstream = connection.execute("SELECT uuid FROM lineage WHERE depends_on_uuid = 'u0'").fetchall()
    assert downstream == [("u1",)]
    catalog.database.write(lambda c: c.execute("DELETE FROM bundles WHERE uuid = 'u1'"))
    assert connection.execute("SELECT count(*) FROM bundle_files").fetchone()[0] == 0
    assert connection.execute("SELECT count(*) FROM lineage").fetchone()[0] == 0


def test_upgrade_from_an_older_version_keeps_the_data(tmp_path, make_run):
    path = tmp_path / "catalog.sqlite3"
    with SQLiteCatalog(path) as old:
        old.record_run(make_run(0, run_id="kept"))
    assert _user_version(path) == SCHEMA_VERSION
    with SQLiteCatalog(path, migrations=(*MIGRATIONS, EXTRA)) as new:
        assert new.schema_version == NEXT
        assert new.get_run("kept").run_id == "kept"
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT note FROM runs").fetchall() == [("from before",)]


def test_every_real_migration_upgrades_a_version_1_catalog(tmp_path, make_run):
    path = tmp_path / "catalog.sqlite3"
    with SQLiteCatalog(path, migrations=MIGRATIONS[:1]) as old:
        old.record_run(make_run(0, run_id="kept"))
        old.bundles.create_context("ctx")
    assert _user_version(path) == 1
    with SQLiteCatalog(path) as new:
        assert new.schema_version == SCHEMA_VERSION
        assert new.get_run("kept").run_id == "kept"
        assert [entry.name for entry in new.bundles.list_contexts()] == ["ctx"]


def test_a_failing_migration_leaves_the_catalog_as_it_was(tmp_path, make_run):
    path = tmp_path / "catalog.sqlite3"
    with SQLiteCatalog(path) as old:
        old.record_run(make_run(0, run_id="kept"))
    broken = Migration(NEXT, "half done", ("CREATE TABLE extra (x)", "ALTER TABLE nowhere ADD COLUMN y"))
    with pytest.raises(SchemaVersionError, match=f"left at version {SCHEMA_VERSION}"):
        SQLiteCatalog(path, migrations=(*MIGRATIONS, broken)).count_runs()
    assert _user_version(path) == SCHEMA_VERSION
    assert "extra" not in _tables(path)
    with SQLiteCatalog(path) as again:
        assert again.count_runs() == 1


def test_a_catalog_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    with SQLiteCatalog(path, migrations=(*MIGRATIONS, EXTRA)) as new:
        new.count_runs()
    newer = f"schema version {NEXT}, newer than this tether knows .{SCHEMA_VERSION}.; upgrade tether"
    with pytest.raises(SchemaVersionError, match=newer):
        SQLiteCatalog(path).count_runs()


def test_migrations_are_numbered_in_order(tmp_path):
    connection = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    with pytest.raises(ValueError, match="expected 1"):
        migrate(connection, (EXTRA,))


def test_two_catalogs_opening_a_fresh_file_migrate_it_once(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    first, second = SQLiteCatalog(path), SQLiteCatalog(path)
    assert first.count_runs() == second.count_runs() == 0
    assert first.schema_version == second.schema_version == SCHEMA_VERSION
    first.close()
    second.close()
