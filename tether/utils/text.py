"""Names and suggestions."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`ForecastTrainingTask` -> `forecast_training_task`; `ETLStep` -> `etl_step`."""
    return _CAMEL.sub("_", name).lower()


def close_matches(word: str, choices: Iterable[str]) -> str:
    """Return ` Did you mean: a, b?` for near misses of `word`, or an empty string."""
    import difflib  # only for an error message: kept out of every command's start

    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
