"""Rebuilding bundle data from its presentation: the inverse of `tether.bundles.encoding`.

Payloads and files are fetched through callables the store supplies, which
verify every byte against its hash; pickled values load only with `ALLOW_PICKLE`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import pickle
import uuid
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tether.bundles.errors import BundleDataError

__all__ = ["Decoder", "load_tz"]

_PICKLE_HINT = "set ALLOW_PICKLE = True in settings to read it (only for data you trust)"


def load_tz(data: dict[str, Any] | None) -> dt.tzinfo | None:
    """The time zone a datetime node records (None: naive)."""
    if data is None:
        return None
    if "zone" in data:
        return zoneinfo.ZoneInfo(data["zone"])
    offset = dt.timedelta(*data["offset"])
    return dt.timezone(offset, data["name"]) if data.get("name") else dt.timezone(offset)


class Decoder:
    """Rebuilds the value a node presents.

    Args:
        payload: returns the verified bytes of a payload reference.
        file: returns the local path of a verified copy of a file, given
            its bundle path, hash and size.
        folder: returns the local path of a folder of the bundle, given its
            bundle path, its files (relative path, hash, size) and empty folders.
        allow_pickle: whether pickled values may be loaded.
        bundle: the bundle, for messages.
    """

    def __init__(
        self,
        *,
        payload: Callable[[dict[str, Any]], bytes],
        file: Callable[[str, str, int], Path],
        folder: Callable[[str, list[list[Any]], list[str]], Path],
        allow_pickle: bool,
        bundle: str,
    ) -> None:
        self.payload = payload
        self.file = file
        self.folder = folder
        self.allow_pickle = allow_pickle
        self.bundle = bundle

    def decode(self, node: dict[str, Any]) -> Any:
        """The value of `node`.

        Raises:
            BundleDataError: the node needs pickle and it is not allowed, or is unknown.
        """
        kind = node["type"]
        handler = _DECODERS.get(kind)
        if handler is None:
            from tether.bundles import _numeric

            handler = _numeric.DECODERS.get(kind)
        if handler is None:
            raise BundleDataError(
                f"bundle {self.bundle} holds data of kind {kind!r}, which this tether cannot read;"
                " upgrade tether"
            )
        return handler(node, self)


def _unpickle(node: dict[str, Any], decoder: Decoder) -> Any:
    if not decoder.allow_pickle:
        raise BundleDataError(
            f"bundle {decoder.bundle} holds a pickled {node.get('class', 'object')}, and"
            f" unpickling is off; {_PICKLE_HINT}"
        )
    return pickle.loads(decoder.payload(node["data"]))


_DECODERS: dict[str, Callable[[dict[str, Any], Decoder], Any]] = {
    "json": lambda n, d: n["value"],
    "json_payload": lambda n, d: json.loads(d.payload(n["data"])),
    "float": lambda n, d: float(n["value"]),
    "str": lambda n, d: bytes.fromhex(n["value"]).decode("utf-8", "surrogatepass"),
    "complex": lambda n, d: complex(float(n["value"][0]), float(n["value"][1])),
    "bytes": lambda n, d: d.payload(n["data"]),
    "bytearray": lambda n, d: bytearray(d.payload(n["data"])),
    "list": lambda n, d: [d.decode(item) for item in n["items"]],
    "tuple": lambda n, d: tuple(d.decode(item) for item in n["items"]),
    "set": lambda n, d: {d.decode(item) for item in n["items"]},
    "frozenset": lambda n, d: frozenset(d.decode(item) for item in n["items"]),
    "dict": lambda n, d: {d.decode(k): d.decode(v) for k, v in zip(n["keys"], n["values"])},
    "range": lambda n, d: range(*n["value"]),
    "datetime": lambda n, d: dt.datetime.fromisoformat(n["value"]).replace(tzinfo=load_tz(n["tz"]), fold=n["fold"]),
    "date": lambda n, d: dt.date.fromisoformat(n["value"]),
    "time": lambda n, d: dt.time.fromisoformat(n["value"]).replace(tzinfo=load_tz(n["tz"]), fold=n["fold"]),
    "timedelta": lambda n, d: dt.timedelta(*n["value"]),
    "decimal": lambda n, d: decimal.Decimal(n["value"]),
    "uuid": lambda n, d: uuid.UUID(n["value"]),
    "file": lambda n, d: d.file(n["path"], n["hash"], n["size"]),
    "directory": lambda n, d: d.folder(n["path"], n["files"], n.get("empty_dirs", [])),
    "pickle": _unpickle,
}

