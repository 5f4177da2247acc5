"""Files that get their name only once written: unnamed files (`O_TMPFILE`) linked into place.

On Linux a file can be created without a name in its folder and linked to its
name once complete. Against the usual temporary name renamed into place, that
is one update of the folder instead of two (about half of what a small file
costs on ext4), and a process killed while writing leaves nothing behind: the
kernel frees an unnamed file when its last descriptor closes.

`open_unnamed(folder)` gives the descriptor, or None where this is not
possible (not Linux, or a file system without it, which is then remembered);
the caller then writes a temporary file in `replacing(path)`, which moves it
onto its name when the block succeeds. `name_unnamed(fd, path)` gives an
unnamed file its name, replacing a file there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator

from tether.files.storages._atomic import temp_name

__all__ = ["name_unnamed", "open_unnamed", "replacing"]

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
# Folders whose file system cannot make (or link) unnamed files.
_named_only: set[str] = set()
_counter = itertools.count()


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary path beside `path`, moved onto `path` if the block succeeds and removed if not.

    The block creates the file. Its name is unique per process, thread and call,
    and is a temporary name (`is_temp_name`), which listings skip.
    """
    folder, name = os.path.split(path)
    temp = os.path.join(folder, temp_name(name, f"{os.getpid()}-{threading.get_ident()}-{next(_counter)}"))
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def open_unnamed(folder: str) -> int | None:
    """A descriptor (read and write) of a new unnamed file in `folder`, or None where there are none.

    Raises:
        FileNotFoundError: `folder` does not exist.
    """
    if not _O_TMPFILE or folder in _named_only:
        return None
    try:
        # 0o666 so the umask applies, as for any file this process creates.
        return os.open(folder, _O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o666)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError:  # the file system cannot (EOPNOTSUPP), or a kernel without it
        _named_only.add(folder)
        return None


def name_unnamed(fd: int, path: str) -> bool:
    """Give the unnamed file `fd` the name `path`, replacing a file there.

    The link is made through `/proc/self/fd`: passing a directory descriptor
    makes `os.link` call linkat, which follows that link to the file (the path
    is absolute, so the descriptor itself is not used). Where that fails (no
    `/proc`), the content is copied to a temporary file renamed into place.

    Returns:
        True if `path` is the unnamed file itself, False if it is a copy.
    """
    source = f"/proc/self/fd/{fd}"
    try:
        os.link(source, path, src_dir_fd=fd)
        return True
    except FileExistsError:
        linked = True
    except OSError:
        linked = False
        _named_only.add(os.path.dirname(path))
    # A file is there already (or no link can be made): a temporary name, then a rename.
    with replacing(path) as temp:
        if linked:
            os.link(source, temp, src_dir_fd=fd)
        else:
            _copy(fd, temp)
    return linked


def _copy(fd: int, temp: str) -> None:
    position = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        with open(temp, "xb") as target:
            while chunk := os.read(fd, 1 << 20):
                target.write(chunk)
    finally:
        os.lseek(fd, position, os.SEEK_SET)
