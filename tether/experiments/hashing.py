"""Fingerprints: canonical digests of values and of code, by type dispatch.

A value's fingerprint folds in its type, so `1`, `1.0`, `"1"` and `True`
differ; arrays by dtype, shape and every byte (a `repr` truncates large arrays,
so two different arrays would collide); DataFrames by columns, index, dtypes
and content; dataclasses by class and fields; dicts in sorted key order;
functions and classes by qualified name. Code is fingerprinted from its syntax
tree with docstrings dropped, so comments, docstrings and formatting do not
change it.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import functools
import inspect
import pickle
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import xxhash

__all__ = ["fingerprint", "update", "code_fingerprint", "digest"]


def digest(*parts: str) -> str:
    """The xxh3-128 hex digest of text parts (separated so that parts cannot run together)."""
    # Each part followed by a NUL, hashed in one call (a stage's key is computed for every call).
    text = "\x00".join(parts) + "\x00" if parts else ""
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8"))


def fingerprint(value: Any) -> str:
    """The canonical digest of `value` (xxh3-128, hex)."""
    hasher = xxhash.xxh3_128()
    update(value, hasher)
    return hasher.hexdigest()


def _tag(hasher: Any, name: str, payload: bytes = b"") -> None:
    hasher.update(name.encode("utf-8"))
    hasher.update(len(payload).to_bytes(8, "little"))
    hasher.update(payload)


def update(value: Any, hasher: Any) -> None:
    """Fold `value` into `hasher`, by its type."""
    _optional()
    _update(value, hasher)


@functools.singledispatch
def _update(value: Any, hasher: Any) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _tag(hasher, "dataclass", _qualified(type(value)).encode())
        for item in dataclasses.fields(value):
            _tag(hasher, "field", item.name.encode())
            _update(getattr(value, item.name), hasher)
        return
    if callable(value) and hasattr(value, "__qualname__"):
        _tag(hasher, "callable", _qualified(value).encode())
        return
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception:
        data = repr(value).encode("utf-8")
    _tag(hasher, f"object:{_qualified(type(value))}", data)


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', repr(obj)))}"


@_update.register(type(None))
def _(value: None, hasher: Any) -> None:
    _tag(hasher, "none")


@_update.register(bool)
def _(value: bool, hasher: Any) -> None:
    _tag(hasher, "bool", b"1" if value else b"0")


@_update.register(int)
def _(value: int, hasher: Any) -> None:
    _tag(hasher, "int", str(value).encode())


@_update.register(float)
def _(value: float, hasher: Any) -> None:
    _tag(hasher, "float", value.hex().encode())


@_update.register(complex)
def _(value: complex, hasher: Any) -> None:
    _tag(hasher, "complex", f"{value.real.hex()},{value.imag.hex()}".encode())


@_update.register(str)
def _(value: str, hasher: Any) -> None:
    _tag(hasher, "str", value.encode("utf-8", "surrogatepass"))


@_update.register(bytes)
@_update.register(bytearray)
def _(value: bytes, hasher: Any) -> None:
    _tag(hasher, "bytes", bytes(value))


@_update.register(list)
@_update.register(tuple)
def _(value: Any, hasher: Any) -> None:
    _tag(hasher, type(value).__name__, str(len(value)).encode())
    for item in value:
        _update(item, hasher)


@_update.register(set)
@_update.register(frozenset)
def _(value: Any, hasher: Any) -> None:
    _tag(hasher, "set", str(len(value)).encode())
    for item in sorted(fingerprint(item) for item in value):
        _tag(hasher, "item", item.encode())


@_update.register(Mapping)
def _(value: Mapping[Any, Any], hasher: Any) -> None:
    _tag(hasher, "mapping", str(len(value)).encode())
    items = sorted((fingerprint(key), key) for key in value)
    for key_digest, key in items:
        _tag(hasher, "key", key_digest.encode())
        _update(value[key], hasher)


@_update.register(PurePath)
def _(value: PurePath, hasher: Any) -> None:
    _tag(hasher, "path", str(value).encode())


@_update.register(dt.datetime)
@_update.register(dt.date)
@_update.register(dt.time)
@_update.register(dt.timedelta)
def _(value: Any, hasher: Any) -> None:
    _tag(hasher, type(value).__name__, repr(value).encode())


@_update.register(enum.Enum)
def _(value: enum.Enum, hasher: Any) -> None:
    _tag(hasher, "enum", f"{_qualified(type(value))}.{value.name}".encode())


@_update.register(type)
def _(value: type, hasher: Any) -> None:
    _tag(hasher, "class", _qualified(value).encode())


@_update.register(functools.partial)
def _(value: functools.partial, hasher: Any) -> None:
    _tag(hasher, "partial")
    _update(value.func, hasher)
    _update(value.args, hasher)
    _update(dict(value.keywords), hasher)


_optional_done: set[str] = set()


def _optional() -> None:
    """Register numpy and pandas once they are imported (a value can only be one if they are)."""
    if "numpy" in sys.modules and "numpy" not in _optional_done:
        _optional_done.add("numpy")
        import numpy as np

        @_update.register(np.ndarray)
        def _(value: Any, hasher: Any) -> None:
            if value.dtype.hasobject:
                _tag(hasher, "ndarray-object", f"{value.shape}".encode())
                for item in value.ravel().tolist():
                    _update(item, hasher)
                return
            _tag(hasher, "ndarray", f"{value.dtype.str}{value.shape}".encode())
            hasher.update(memoryview(np.ascontiguousarray(value)).cast("B"))

        @_update.register(np.generic)
        def _(value: Any, hasher: Any) -> None:
            _tag(hasher, f"numpy-scalar:{value.dtype.str}", value.tobytes())

    if "pandas" in sys.modules and "pandas" not in _optional_done:
        _optional_done.add("pandas")
        import pandas as pd

        @_update.register(pd.DataFrame)
        def _(value: Any, hasher: Any) -> None:
            _tag(hasher, "dataframe", f"{value.shape}".encode())
            _update([str(c) for c in value.columns], hasher)
            _update([str(t) for t in value.dtypes], hasher)
            _tag(hasher, "rows", pd.util.hash_pandas_object(value, index=True).values.tobytes())

        @_update.register(pd.Series)
        def _(value: Any, hasher: Any) -> None:
            _tag(hasher, "series", f"{value.name}:{value.dtype}".encode())
            _tag(hasher, "rows", pd.util.hash_pandas_object(value, index=True).values.tobytes())

        @_update.register(pd.Index)
        def _(value: Any, hasher: Any) -> None:
            _tag(hasher, "index", f"{value.dtype}".encode())
            _tag(hasher, "rows", pd.util.hash_pandas_object(value).values.tobytes())


# --- code ------------------------------------------------------------------------------


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            if isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _strip


@functools.lru_cache(maxsize=4096)
def _source_fingerprint(source: str) -> str:
    tree = _StripDocstrings().visit(ast.parse(textwrap.dedent(source)))
    # Decorator lines are part of how a stage is declared, not of what it computes;
    # its inputs, outputs and cachers are folded in separately.
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is tree.body[0]:
            node.decorator_list = []
    return digest(ast.dump(tree, annotate_fields=False, include_attributes=False))


def code_fingerprint(obj: Callable[..., Any] | type) -> str:
    """The fingerprint of a function's or class's code: its syntax tree without docstrings.

    Comments, docstrings, blank lines and formatting do not change it; anything
    else does. Code without source (built-ins, a REPL) falls back to its bytecode.
    """
    target = inspect.unwrap(obj) if callable(obj) and not isinstance(obj, type) else obj
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            return digest(code.co_code.hex(), repr(code.co_consts), repr(code.co_names))
        return digest(_qualified(target))
    try:
        return _source_fingerprint(source)
    except SyntaxError:
        return digest(source)
