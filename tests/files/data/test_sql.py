"""read_sql: any SQLAlchemy URL, bound parameters, one-line errors, for both managers."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest

from tether.exceptions import DataError, ImproperlyConfigured
from tether.files.data.base import BaseDataManager
from tether.files.data.pandas import PandasDataManager

pytest.importorskip("sqlalchemy")


@pytest.fixture(params=["pandas", "polars"])
def manager(request) -> BaseDataManager:
    if request.param == "pandas":
        return PandasDataManager()
    pytest.importorskip("polars")
    from tether.files.data.polars import PolarsDataManager

    return PolarsDataManager()


@pytest.fixture
def database(tmp_path) -> str:
    path = tmp_path / "shop.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("create table items (id integer, name text, price real)")
        connection.executemany(
            "insert into items values (?, ?, ?)", [(1, "apple", 0.5), (2, "pear", 0.75), (3, "fig", 2.0)]
        )
    connection.close()
    return f"sqlite:///{path}"


def rows(frame) -> list[tuple]:
    if isinstance(frame, pd.DataFrame):
        return list(frame.itertuples(index=False, name=None))
    return frame.rows()


def test_a_query_with_a_bound_parameter(manager, database) -> None:
    frame = manager.read_sql("select id, name from items where price < :limit order by id", url=database, params={"limit": 1.0})
    assert list(frame.columns) == ["id", "name"]
    assert rows(frame) == [(1, "apple"), (2, "pear")]


def test_parameters_are_never_spliced_into_the_query(manager, database) -> None:
    frame = manager.read_sql("select * from items where name = :name", url=database, params={"name": "x' or '1'='1"})
    assert len(frame) == 0
    frame = manager.read_sql("select :text as echoed", url=database, params={"text": "'; drop table items; --"})
    assert rows(frame) == [("'; drop table items; --",)]
    assert len(manager.read_sql("select * from items", url=database)) == 3


def test_a_sqlalchemy_selectable(manager, database) -> None:
    import sqlalchemy as sa

    items = sa.table("items", sa.column("id"), sa.column("name"))
    frame = manager.read_sql(sa.select(items.c.name).where(items.c.id == 3), url=database)
    assert rows(frame) == [("fig",)]


def test_keyword_arguments_reach_the_library(manager, database) -> None:
    if isinstance(manager, PandasDataManager):
        frame = manager.read_sql("select * from items", url=database, index_col="id")
        assert list(frame.index) == [1, 2, 3]
    else:
        import polars as pl

        frame = manager.read_sql("select id from items", url=database, schema_overrides={"id": pl.Int8})
        assert frame.schema["id"] == pl.Int8


def test_a_failed_query_is_one_data_error_line(manager, database) -> None:
    with pytest.raises(DataError) as info:
        manager.read_sql("select * from missing where id = :id", url=database, params={"id": 1})
    assert str(info.value) == f"read_sql failed on {database}: OperationalError: no such table: missing"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "cannot use the URL 'not a url'"),
        ("nope://host/db", "cannot use the URL 'nope://host/db': Can't load plugin: sqlalchemy.dialects:nope"),
        ("", "needs the database URL"),
    ],
)
def test_a_bad_url_is_one_data_error_line(manager, url: str, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(")) as info:
        manager.read_sql("select 1", url=url)
    assert "\n" not in str(info.value)


def test_a_missing_sqlite_file_is_not_created(manager, tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(DataError, match="database file .*missing.sqlite3.* does not exist"):
        manager.read_sql("select 1", url=f"sqlite:///{path}")
    assert not path.exists()
    assert rows(manager.read_sql("select 1 as one", url="sqlite://")) == [(1,)]


def test_passwords_stay_out_of_messages(manager) -> None:
    with pytest.raises(DataError) as info:
        manager.read_sql("select 1", url="nope://user:s3cret@host/db")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_a_missing_driver_says_so(manager, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(DataError, match=r"database driver \(psycopg2\) is not installed; install"):
        manager.read_sql("select 1", url="postgresql+psycopg2://user:pw@127.0.0.1:1/db")


def test_a_missing_sqlalchemy_gives_the_install_hint(manager, database, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'tether\[sql\]'"):
        manager.read_sql("select 1", url=database)
