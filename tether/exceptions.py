"""The exceptions tether raises; every one derives from `TetherError`."""

from __future__ import annotations

__all__ = [
    "TetherError",
    "ImproperlyConfigured",
    "ContextError",
    "DAGError",
    "DAGNotFoundError",
    "TaskNotFoundError",
    "StorageError",
    "StoragePathError",
    "DataError",
    "RunError",
    "RunNotFoundError",
    "UsageError",
]


class TetherError(Exception):
    """Root of tether's errors: a message that says what went wrong and what to do.

    The CLI prints such an error as one line and exits 2; anything else is a bug
    and keeps its traceback.
    """

    exit_code = 2


class ImproperlyConfigured(TetherError):
    """Settings are missing, wrong, or name something that cannot be imported."""


class ContextError(TetherError):
    """The run Context could not be built: bad YAML, a bad patch or `--set`, a type clash."""


class DAGError(TetherError):
    """A DAG definition is invalid: a cycle, an unknown task, a duplicate label."""


class DAGNotFoundError(DAGError):
    """No DAG has the requested label."""


class TaskNotFoundError(DAGError):
    """A task named on the command line is not part of the DAG."""


class StorageError(TetherError):
    """A storage operation failed."""


class StoragePathError(StorageError, ValueError):
    """A path is malformed or escapes the storage root."""


class DataError(TetherError):
    """A data manager cannot read or write the data it was given."""


class RunError(TetherError):
    """A run cannot start or be resumed."""


class RunNotFoundError(RunError):
    """No run matches the given id or folder."""


class UsageError(TetherError):
    """The command line is malformed."""
