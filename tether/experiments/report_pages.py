"""The HTML pages of reports: a jinja2 environment over the report templates, and their style.

Templates autoescape every value; fragments built in Python (already escaped)
are passed as `Markup`. The style is inlined in each page so that a report is
one self-contained folder.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATES", "MARKUP", "render_page", "environment"]

TEMPLATES = Path(__file__).with_name("templates")

MARKUP = frozenset({
    "info", "parameter_sets", "reportables", "graph", "timings", "tasks", "metrics", "params",
})
"""Template variables that hold HTML built (and escaped) in Python; every other value is escaped."""


@functools.lru_cache(maxsize=8)
def environment(*folders: str) -> Any:
    """The jinja2 environment over `folders` (searched first) and the experiment templates."""
    import jinja2

    loader = jinja2.FileSystemLoader([*folders, str(TEMPLATES)])
    return jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_page(name: str, *, folders: tuple[str, ...] = (), **values: Any) -> str:
    """Render the template `name`; the values named in `MARKUP` are trusted HTML, the others are escaped.

    Args:
        name: the template's file name.
        folders: more template folders, searched before the experiment templates.
        values: the template's variables; those listed in `MARKUP` are trusted HTML.
    """
    from markupsafe import Markup

    for key, value in values.items():
        if key in MARKUP and isinstance(value, str):
            values[key] = Markup(value)
    return environment(*folders).get_template(name).render(**values)

