"""Bundle data as a JSON presentation with payloads and files (`decoding` reads it back).

`Encoder.encode(value)` dispatches on the value's type (`functools.singledispatch`,
one registration per type) and returns a node: a small JSON object naming the
type. Plain JSON (str, int, float, bool, None, and lists and str-keyed dicts
of them) is kept as is; everything else gets a node that says how to rebuild
it: tuples stay tuples, dict keys keep their types, datetimes keep their time
zone, DataFrames become parquet and arrays npy payloads, paths become files.

Only exact types are trusted: a subclass of a registered type (a namedtuple,
an OrderedDict, an IntEnum) is not silently turned into its base type, it goes
to the fallback, pickle, which needs `ALLOW_PICKLE`. Without it, an
unsupported value is refused with an error that names its type.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import os
import pickle
import sys
import uuid
import zoneinfo
from pathlib import PurePath
from typing import Any

from tether.bundles.blobs import digest_bytes
from tether.bundles.errors import BundleDataError
from tether.bundles.files import FileCollector, LocalFile, PendingFile, Staging, StorageFile

__all__ = ["Encoder", "summary"]

_PICKLE_HINT = "set ALLOW_PICKLE = True in settings to store it with pickle (only for data you trust)"


def _utf8(text: str) -> bool:
    """Whether `text` survives JSON unchanged (no surrogates, which JSON would pair up or refuse)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain(value: Any) -> bool:
    """Whether `value` is plain JSON that reads back as the same Python values."""
    kind = type(value)
    if kind is str:
        return _utf8(value)
    if kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value - value == 0.0  # finite
    if kind is list:
        return all(_plain(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _utf8(key) and _plain(item) for key, item in value.items())
    return False


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


# --- encoding ----------------------------------------------------------------------------


@functools.singledispatch
def _encode(value: Any, encoder: Encoder) -> dict[str, Any]:
    return encoder.fallback(value)


# Types whose subclasses must not be stored as the base type.
_EXACT: set[type] = {
    int, float, bool, str, bytes, bytearray, list, tuple, dict, set, frozenset, complex,
    range, dt.datetime, dt.date, dt.time, dt.timedelta, decimal.Decimal, uuid.UUID, type(None),
}


def _json_node(value: Any, encoder: Encoder) -> dict[str, Any]:
    return {"type": "json", "value": value}


for _kind in (int, bool, type(None)):
    _encode.register(_kind, _json_node)


@_encode.register(str)
def _(value: str, encoder: Encoder) -> dict[str, Any]:
    if _utf8(value):
        return {"type": "json", "value": value}
    return {"type": "str", "value": value.encode("utf-8", "surrogatepass").hex()}


@_encode.register(float)
def _(value: float, encoder: Encoder) -> dict[str, Any]:
    if value - value == 0.0:
        return {"type": "json", "value": value}
    return {"type": "float", "value": repr(value)}


@_encode.register(complex)
def _(value: complex, encoder: Encoder) -> dict[str, Any]:
    return {"type": "complex", "value": [repr(value.real), repr(value.imag)]}


@_encode.register(bytes)
@_encode.register(bytearray)
def _(value: bytes | bytearray, encoder: Encoder) -> dict[str, Any]:
    return {"type": type(value).__name__, "data": encoder.payload(bytes(value))}


@_encode.register(list)
@_encode.register(tuple)
@_encode.register(set)
@_encode.register(frozenset)
def _(value: Any, encoder: Encoder) -> dict[str, Any]:
    if type(value) is list and _plain(value):
        return encoder.json(value)
    return {"type": type(value).__name__, "items": [encoder.node(item) for item in value]}


@_encode.register(dict)
def _(value: dict, encoder: Encoder) -> dict[str, Any]:
    if _plain(value):
        return encoder.json(value)
    return {
        "type": "dict",
        "keys": [encoder.node(key) for key in value],
        "values": [encoder.node(item) for item in value.values()],
    }


@_encode.register(range)
def _(value: range, encoder: Encoder) -> dict[str, Any]:
    return {"type": "range", "value": [value.start, value.stop, value.step]}


def _tz(tzinfo: dt.tzinfo | None) -> dict[str, Any] | None:
    if tzinfo is None:
        return None
    if type(tzinfo) is zoneinfo.ZoneInfo and tzinfo.key:
        return {"zone": tzinfo.key}
    if type(tzinfo) is dt.timezone:
        offset = tzinfo.utcoffset(None)
        name = tzinfo.tzname(None)
        default = dt.timezone(offset).tzname(None)
        return {"offset": [offset.days, offset.seconds, offset.microseconds], "name": None if name == default else name}
    raise _Unsupported(f"its time zone is a {_type_name(tzinfo)} (use zoneinfo.ZoneInfo or datetime.timezone)")


@_encode.register(dt.datetime)
def _(value: dt.datetime, encoder: Encoder) -> dict[str, Any]:
    return {
        "type": "datetime",
        "value": value.replace(tzinfo=None).isoformat(),
        "tz": _tz(value.tzinfo),
        "fold": value.fold,
    }


@_encode.register(dt.date)
def _(value: dt.date, encoder: Encoder) -> dict[str, Any]:
    return {"type": "date", "value": value.isoformat()}


@_encode.register(dt.time)
def _(value: dt.time, encoder: Encoder) -> dict[str, Any]:
    return {
        "type": "time",
        "value": value.replace(tzinfo=None).isoformat(),
        "tz": _tz(value.tzinfo),
        "fold": value.fold,
    }


@_encode.register(dt.timedelta)
def _(value: dt.timedelta, encoder: Encoder) -> dict[str, Any]:
    return {"type": "timedelta", "value": [value.days, value.seconds, value.microseconds]}


@_encode.register(decimal.Decimal)
def _(value: decimal.Decimal, encoder: Encoder) -> dict[str, Any]:
    return {"type": "decimal", "value": str(value)}


@_encode.register(uuid.UUID)
def _(value: uuid.UUID, encoder: Encoder) -> dict[str, Any]:
    return {"type": "uuid", "value": str(value)}


@_encode.register(PurePath)
def _(value: PurePath, encoder: Encoder) -> dict[str, Any]:
    return encoder.collector.local(os.fspath(value))


@_encode.register(LocalFile)
def _(value: LocalFile, encoder: Encoder) -> dict[str, Any]:
    return encoder.collector.local(os.fspath(value.path), value.name)


@_encode.register(StorageFile)
def _(value: StorageFile, encoder: Encoder) -> dict[str, Any]:
    return encoder.collector.stored(value)


class _Unsupported(Exception):
    """A value the exact codecs cannot keep; the fallback decides."""


_optional_loaded: set[str] = set()


def _register_optional() -> None:
    """Register the numpy and pandas codecs once those libraries are imported.

    A value can only be a DataFrame if pandas is already imported, so bundles
    of plain data never import it.
    """
    if "numpy" in sys.modules and "numpy" not in _optional_loaded:
        _optional_loaded.add("numpy")
        from tether.bundles import _numeric

        _numeric.register_numpy(_encode, _EXACT)
    if "pandas" in sys.modules and "pandas" not in _optional_loaded:
        _optional_loaded.add("pandas")
        from tether.bundles import _numeric

        _numeric.register_pandas(_encode, _EXACT)


class Encoder:
    """Turns one value into a presentation node, collecting its payloads and files.

    Args:
        allow_pickle: whether values no codec keeps exactly may be pickled.
        staging: the open bundle's staging folder (files in it keep their path there).
    """

    def __init__(self, *, allow_pickle: bool, staging: Staging | None = None) -> None:
        self.allow_pickle = allow_pickle
        self.payloads: dict[str, bytes] = {}
        self.collector = FileCollector(staging)

    @property
    def files(self) -> list[PendingFile]:
        """The files the data names, to store as blobs."""
        return self.collector.files

    def encode(self, value: Any) -> dict[str, Any]:
        """The node of `value`.

        Raises:
            BundleDataError: `value` (or a part of it) cannot be stored exactly.
        """
        _register_optional()
        return self.node(value)

    def node(self, value: Any) -> dict[str, Any]:
        """The node of one value (used by the codecs for the parts of containers)."""
        kind = type(value)
        if kind not in _encode.registry:
            for base in kind.__mro__[1:]:
                if base in _encode.registry:
                    if base in _EXACT:
                        return self.fallback(value, f"it is a subclass of {base.__name__}")
                    break
        try:
            return _encode.dispatch(kind)(value, self)
        except _Unsupported as exc:
            return self.fallback(value, str(exc))

    def json(self, value: Any) -> dict[str, Any]:
        """The node of plain JSON: inline if small, else a payload."""
        text = json.dumps(value, separators=(",", ":"))
        if len(text) <= 4096:
            return {"type": "json", "value": value}
        return {"type": "json_payload", "data": self.payload(text.encode("utf-8"))}

    def payload(self, data: bytes) -> dict[str, Any]:
        """Record `data` as a payload; returns its reference `{"hash", "size"}`."""
        digest = digest_bytes(data)
        self.payloads[digest] = data
        return {"hash": digest, "size": len(data)}

    def fallback(self, value: Any, reason: str | None = None) -> dict[str, Any]:
        """Pickle `value` if allowed, else refuse it with an error that says why."""
        why = f" ({reason})" if reason else ""
        if not self.allow_pickle:
            raise BundleDataError(
                f"cannot store a {_type_name(value)} in a bundle exactly{why}; convert it to a"
                f" supported type, or {_PICKLE_HINT}"
            )
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise BundleDataError(f"cannot pickle a {_type_name(value)} for a bundle: {exc}") from exc
        return {"type": "pickle", "class": _type_name(value), "data": self.payload(data)}


def summary(node: dict[str, Any]) -> str:
    """A one-word description of the data a node presents (`DataFrame`, `dict`, `file`, ...)."""
    kind = node["type"]
    if kind == "json":
        value = node["value"]
        return "None" if value is None else type(value).__name__
    if kind == "json_payload":
        return "json"
    if kind == "pickle":
        return f"pickle:{node.get('class', '?')}"
    return kind
