"""The storage errors: `StorageError` and one subclass per way a storage operation fails.

Each also derives from the built-in exception code would catch without tether
(`FileNotFoundError`, `PermissionError`, `TimeoutError`, ...), so both kinds of
`except` work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tether.exceptions import StorageError, StoragePathError

__all__ = [
    "StorageError",
    "StoragePathError",
    "StorageNotFoundError",
    "StorageExistsError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
    "StoragePermissionError",
    "StorageConnectionError",
    "StorageTimeoutError",
    "StorageBucketNotFoundError",
    "translate_os_errors",
    "check_destination",
]


class StorageNotFoundError(StorageError, FileNotFoundError):
    """A file or directory does not exist in the storage."""


class StorageExistsError(StorageError, FileExistsError):
    """A path already exists where the operation needs it not to."""


class StorageIsADirectoryError(StorageError, IsADirectoryError):
    """A path is a directory where the operation needs a file."""


class StorageNotADirectoryError(StorageError, NotADirectoryError):
    """A path (or one of its parents) is a file where a directory is needed."""


class StoragePermissionError(StorageError, PermissionError):
    """The service refused the credentials, or they do not allow the operation."""


class StorageConnectionError(StorageError, ConnectionError):
    """The service behind the storage cannot be reached (refused, unknown host, timed out)."""


class StorageTimeoutError(StorageConnectionError, TimeoutError):
    """The service did not answer in time, after the allowed retries."""


class StorageBucketNotFoundError(StorageError):
    """The bucket that the storage root names does not exist.

    Not a `StorageNotFoundError`: code that treats a missing file as "not
    there yet" must not take a missing bucket for an empty one.
    """


@contextlib.contextmanager
def translate_os_errors(key: str, action: str, root: str) -> Iterator[None]:
    """Turn OSErrors raised in the block into the storage error that names `key` and `root`.

    Args:
        key: the storage path the operation is about.
        action: what was being done, as a verb: "read", "copy to"...
        root: the storage's root, named in messages.
    """
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise StorageNotFoundError(f"cannot {action} {key!r}: it does not exist in {root}") from exc
    except IsADirectoryError as exc:
        raise StorageIsADirectoryError(f"cannot {action} {key!r}: it is a directory") from exc
    except (NotADirectoryError, FileExistsError) as exc:
        raise StorageNotADirectoryError(
            f"cannot {action} {key!r}: a file is in the way of one of its parent directories"
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot {action} {key!r} in {root}: {exc}") from exc


def check_destination(
    action: str,
    source: str,
    kind: str,
    target: str,
    target_kind: str | None,
    overwrite: bool,
) -> None:
    """Refuse to `action` the `kind` (file or directory) `source` onto an existing `target`.

    Raises:
        StorageExistsError: `target` exists and `overwrite` is False.
        StorageIsADirectoryError, StorageNotADirectoryError: `target` is of the other kind.
    """
    if target_kind is not None and not overwrite:
        raise StorageExistsError(
            f"cannot {action} {source!r} to {target!r}: it exists; pass overwrite=True to"
            " replace it"
        )
    if target_kind is not None and target_kind != kind:
        error: type[StorageError] = StorageNotADirectoryError
        if target_kind == "directory":
            error = StorageIsADirectoryError
        raise error(f"cannot {action} the {kind} {source!r} over the {target_kind} {target!r}")
