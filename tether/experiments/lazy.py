"""`Lazy`: a stage output kept in its cache file instead of in memory."""

from __future__ import annotations

from typing import Any

from tether.experiments.caching import Cacheable
from tether.experiments.errors import CachingError

__all__ = ["Lazy"]


class Lazy:
    """Name a stage output `Lazy("model")` to keep it on disk until a stage needs it.

    The output is saved by its cacher (a `PickleCacher` if none is given) and
    dropped from memory; a later stage that takes it as input gets the loaded
    value (or, with `resolve=False`, this object, whose `load()` reads it). A
    lazy output whose stage was cached is never read unless a stage needs it.

    Args:
        name: the output's name.
        resolve: whether stages receive the value (True) or this object (False).
    """

    def __init__(self, name: str, resolve: bool = True) -> None:
        self.name = name
        self.resolve = resolve
        self.cacher: Cacheable | None = None

    def load(self) -> Any:
        """Read the value from its cache file.

        Raises:
            CachingError: the output has no cacher yet (its stage has not run).
        """
        if self.cacher is None:
            raise CachingError(f"lazy output {self.name!r} has no cache file yet; run its stage first")
        return self.cacher.load()

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Lazy({self.name!r})"
