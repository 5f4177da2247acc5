"""Codecs for numpy and pandas values, registered only once those libraries are imported."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.bundles.decoding import Decoder
    from tether.bundles.encoding import Encoder

__all__ = ["DECODERS", "register_numpy", "register_pandas"]


def register_numpy(encode: Any, exact: set[type]) -> None:
    """Register ndarray (npy) and numpy scalars (0-d npy) with the `encode` dispatcher."""
    import numpy as np

    from tether.bundles.frames import FrameError, encode_array

    exact.add(np.ndarray)

    @encode.register(np.ndarray)
    def _(value: np.ndarray, encoder: Encoder) -> dict[str, Any]:
        try:
            return {"type": "ndarray", "data": encoder.payload(encode_array(value))}
        except FrameError as exc:
            return encoder.fallback(value, str(exc))

    @encode.register(np.generic)
    def _(value: np.generic, encoder: Encoder) -> dict[str, Any]:
        try:
            return {"type": "numpy_scalar", "data": encoder.payload(encode_array(value))}
        except FrameError as exc:
            return encoder.fallback(value, str(exc))


def register_pandas(encode: Any, exact: set[type]) -> None:
    """Register DataFrame and Series (parquet), Timestamp, Timedelta and NaT."""
    import pandas as pd

    from tether.bundles.encoding import _tz, _Unsupported
    from tether.bundles.frames import FrameError, encode_frame, encode_series

    exact.update((pd.DataFrame, pd.Series, pd.Timestamp, pd.Timedelta))

    @encode.register(pd.DataFrame)
    def _(value: pd.DataFrame, encoder: Encoder) -> dict[str, Any]:
        try:
            data, fix = encode_frame(value)
        except FrameError as exc:
            return encoder.fallback(value, f"as parquet: {exc}")
        return {"type": "DataFrame", "data": encoder.payload(data), "fix": fix}

    @encode.register(pd.Series)
    def _(value: pd.Series, encoder: Encoder) -> dict[str, Any]:
        try:
            data, fix = encode_series(value)
        except FrameError as exc:
            return encoder.fallback(value, f"as parquet: {exc}")
        return {"type": "Series", "data": encoder.payload(data), "fix": fix, "name": encoder.node(value.name)}

    @encode.register(pd.Timestamp)
    def _(value: pd.Timestamp, encoder: Encoder) -> dict[str, Any]:
        try:
            zone = _tz(value.tzinfo)
        except _Unsupported as exc:
            return encoder.fallback(value, str(exc))
        return {"type": "Timestamp", "value": int(value.as_unit("ns").value), "unit": value.unit, "tz": zone}

    @encode.register(pd.Timedelta)
    def _(value: pd.Timedelta, encoder: Encoder) -> dict[str, Any]:
        return {"type": "Timedelta", "value": int(value.as_unit("ns").value), "unit": value.unit}

    @encode.register(type(pd.NaT))
    def _(value: Any, encoder: Encoder) -> dict[str, Any]:
        return {"type": "NaT"}


def _array(node: dict[str, Any], decoder: Decoder) -> Any:
    from tether.bundles.frames import decode_array

    return decode_array(decoder.payload(node["data"]), scalar=node["type"] == "numpy_scalar")


def _frame(node: dict[str, Any], decoder: Decoder) -> Any:
    from tether.bundles.frames import decode_frame

    return decode_frame(decoder.payload(node["data"]), node.get("fix") or {})


def _series(node: dict[str, Any], decoder: Decoder) -> Any:
    from tether.bundles.frames import decode_series

    return decode_series(decoder.payload(node["data"]), node.get("fix") or {}, decoder.decode(node["name"]))


def _timestamp(node: dict[str, Any], decoder: Decoder) -> Any:
    import pandas as pd

    from tether.bundles.decoding import load_tz

    zone = load_tz(node["tz"])
    moment = pd.Timestamp(node["value"], unit="ns", tz="UTC" if zone is not None else None)
    if zone is not None:
        moment = moment.tz_convert(zone)
    return moment.as_unit(node["unit"])


def _timedelta(node: dict[str, Any], decoder: Decoder) -> Any:
    import pandas as pd

    return pd.Timedelta(node["value"], unit="ns").as_unit(node["unit"])


def _nat(node: dict[str, Any], decoder: Decoder) -> Any:
    import pandas as pd

    return pd.NaT


DECODERS: dict[str, Callable[[dict[str, Any], Decoder], Any]] = {
    "ndarray": _array,
    "numpy_scalar": _array,
    "DataFrame": _frame,
    "Series": _series,
    "Timestamp": _timestamp,
    "Timedelta": _timedelta,
    "NaT": _nat,
}

