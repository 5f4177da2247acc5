"""Storage paths: `/`-separated, relative to a root, never climbing out of it.

A leading `/` means the top of the root (never the machine's root), backslashes
separate parts too, `.` parts are dropped, and `..` may climb only within the root.
"""

from __future__ import annotations

import os

from tether.conf import default_context
from tether.exceptions import StoragePathError

__all__ = ["normalize_path", "run_path", "join_key", "split_key", "parent_keys"]


def normalize_path(path: str | os.PathLike[str], within: str = "the storage root") -> str:
    """Turn `path` into a canonical key relative to the root: `a/b/c`, or `""` for the root.

    Args:
        path: a relative path; `/` and `\\` separate parts, a leading `/` is the
            top of the root, `.` parts are dropped and `..` climbs one part.
        within: what the path is relative to, named in the error.

    Raises:
        StoragePathError: the path climbs above the root, contains a NUL
            character, or is not a string.
    """
    try:
        text = os.fspath(path)
    except TypeError:
        raise StoragePathError(
            f"storage paths are strings, not {type(path).__name__}; pass e.g. 'runs/model.pkl'"
        ) from None
    if not isinstance(text, str):
        raise StoragePathError(f"storage paths are strings, not bytes: {text!r}; decode it first")
    if "\x00" in text:
        raise StoragePathError(f"path {text!r} contains a NUL character; remove it")
    parts: list[str] = []
    for part in text.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise StoragePathError(
                    f"path {text!r} escapes {within}; remove the '..' parts that climb above it"
                )
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def run_path(path: str | os.PathLike[str] = "") -> str:
    """The storage path of `path` inside the current run folder (`meta.run_folder`).

    Raises:
        StoragePathError: `path` climbs out of the run folder.
    """
    folder = normalize_path(default_context.meta.run_folder)
    return join_key(folder, normalize_path(path, within="the run folder"))


def join_key(*keys: str) -> str:
    """Join normalized keys, skipping empty ones."""
    return "/".join(key for key in keys if key)


def split_key(key: str) -> tuple[str, str]:
    """`a/b/c` -> (`a/b`, `c`); `c` -> (``, `c`)."""
    parent, _, name = key.rpartition("/")
    return parent, name


def parent_keys(key: str) -> list[str]:
    """The folders above `key`, outermost first: `a/b/c` -> [`a`, `a/b`]."""
    parts = key.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]
