"""Connections for `read_sql`: any SQLAlchemy URL, queries with bound parameters only."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from tether.exceptions import DataError, ImproperlyConfigured
from tether.files.data.formats import one_line
from tether.utils import install_hint

__all__ = ["connect", "run_query", "safe_url"]


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"read_sql needs SQLAlchemy, which is not installed; run {install_hint('sqlalchemy')}"
        ) from exc
    return sqlalchemy


def safe_url(url: str) -> str:
    """`url` with its password masked, for messages; what follows any `@` if it does not parse."""
    try:
        return _sqlalchemy().engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@", 1)[-1] if "@" in url else url


def as_query(sql: Any) -> Any:
    """`sql` ready to execute: a string becomes a `text()` clause with `:name` parameters."""
    if isinstance(sql, str):
        return _sqlalchemy().text(sql)
    return sql


def _check_sqlite_file(url: Any, shown: str) -> None:
    """Refuse a SQLite file that does not exist, which SQLite would create empty."""
    database = url.database
    in_memory = not database or database == ":memory:" or database.startswith("file:")
    if url.get_backend_name() == "sqlite" and not in_memory and not os.path.isfile(database):
        raise DataError(
            f"read_sql cannot open {shown}: the database file {database!r} does not exist"
            f" (relative paths start at {os.getcwd()!r}); check the URL"
        )


@contextlib.contextmanager
def connect(url: str | None) -> Iterator[Any]:
    """A SQLAlchemy connection to the database at `url`, closed on exit.

    Args:
        url: a SQLAlchemy URL, e.g. `sqlite:///path/to/file.db` or
            `postgresql+psycopg://user@host/db`.

    Raises:
        DataError: no URL, a URL that does not parse, a missing SQLite file,
            a database driver that is not installed, or a failed connection.
        ImproperlyConfigured: SQLAlchemy is not installed.
    """
    if not url:
        raise DataError("read_sql needs the database URL; pass url='sqlite:///path.db' or similar")
    sqlalchemy = _sqlalchemy()
    shown = safe_url(url)
    try:
        parsed = sqlalchemy.engine.make_url(url)
        _check_sqlite_file(parsed, shown)
        engine = sqlalchemy.create_engine(parsed)
    except DataError:
        raise
    except ImportError as exc:
        raise DataError(
            f"read_sql cannot open {shown}: its database driver ({exc.name or exc}) is not"
            " installed; install the driver package for this URL"
        ) from exc
    except (sqlalchemy.exc.SQLAlchemyError, ValueError) as exc:
        raise DataError(f"read_sql cannot use the URL {shown!r}: {one_line(exc)}") from exc
    try:
        try:
            connection = engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise DataError(f"read_sql cannot connect to {shown}: {one_line(exc)}") from exc
        with connection:
            yield connection
    finally:
        engine.dispose()


def _root_cause(exc: BaseException, dbapi_error: type[Any]) -> BaseException:
    """The driver's own error behind `exc`, through the wrappers of pandas and SQLAlchemy."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, dbapi_error) and current.orig is not None:
            return current.orig
        if current.__cause__ is None:
            return current
        current = current.__cause__
    return exc


def run_query(
    url: str | None,
    sql: Any,
    run: Callable[[Any, Any], Any],
    errors: tuple[type[BaseException], ...] = (),
) -> Any:
    """Connect to `url` and return `run(query, connection)`, with errors made one line.

    Args:
        url: a SQLAlchemy URL.
        sql: the query: text (parameters written `:name`) or a SQLAlchemy selectable.
        run: executes the query on the connection and builds the data frame.
        errors: what else, beyond SQLAlchemy's errors, `run` raises for a bad query.

    Raises:
        DataError: no URL, a bad URL, a failed connection or a failed query.
        ImproperlyConfigured: SQLAlchemy is not installed.
    """
    sqlalchemy = _sqlalchemy()
    with connect(url) as connection:
        try:
            return run(as_query(sql), connection)
        except (sqlalchemy.exc.SQLAlchemyError, *errors) as exc:
            cause = _root_cause(exc, sqlalchemy.exc.DBAPIError)
            raise DataError(
                f"read_sql failed on {safe_url(url or '')}: {type(cause).__name__}:"
                f" {one_line(cause)}"
            ) from exc
