"""Reportables: values a stage puts in the run's report (tables, JSON, figures, images, HTML).

A stage calls `record.report(SomeReporter(...))`; the report writer then gives
each reportable a folder (`rendered_artifact_dir`), calls `render()` to write
any files it needs there, and places `html()` in the page. Every value shown
is HTML-escaped, except the markup an `HTMLReporter` is given on purpose.

Without a report folder (a notebook display), images are embedded in the HTML
as data URIs, so the fragment stands alone.
"""

from __future__ import annotations

import base64
import json
import math
import mimetypes
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from tether.experiments.errors import ExperimentError

__all__ = [
    "ReportError",
    "Reportable",
    "HTMLReporter",
    "DFReporter",
    "JsonReporter",
    "FigureReporter",
    "LinePlotReporter",
    "ImageReporter",
    "LatexTableReporter",
]

MAX_TABLE_ROWS = 200
_BROWSER_IMAGES = frozenset({"png", "jpg", "jpeg", "svg", "gif", "webp"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ReportError(ExperimentError):
    """A reportable or a report cannot be rendered: the message says what to fix."""


def safe_name(text: str) -> str:
    """`text` reduced to characters that are safe in a file name and an HTML id."""
    return _UNSAFE.sub("-", text).strip("-.") or "reportable"


class Reportable:
    """Something a stage reports; subclasses say how it renders.

    Args:
        name: the name shown in the report (the record names an unnamed one).
        group: reportables of one group are shown together, across records.

    Attributes:
        record: the record that reported it (set by `Record.report`).
        stage: the name of the stage that reported it (set by `Record.report`).
        rendered_artifact_dir: the folder `render()` writes files to (set by the
            report writer); None when nothing is rendered to disk.
        rendered_artifact_link: that folder as a link relative to the report page.
    """

    def __init__(self, name: str | None = None, group: str | None = None) -> None:
        self.name = name
        self.group = group
        self.record: Any = None
        self.stage: str | None = None
        self.rendered_artifact_dir: str | Path | None = None
        self.rendered_artifact_link: str | None = None

    @property
    def qualified_name(self) -> str:
        """A name unique within a run: the record's hash, the stage and the name."""
        record_hash = None
        if self.record is not None:
            getter = getattr(self.record, "get_hash", None)
            record_hash = getter() if callable(getter) else None
        parts = [str(record_hash)[:10] if record_hash else "live", self.stage or "", self.name or ""]
        return safe_name("_".join(part for part in parts if part))

    def render(self) -> None:
        """Write the files `html()` refers to under `rendered_artifact_dir` (none by default)."""

    def html(self) -> str:
        """The HTML fragment shown in the report."""
        raise NotImplementedError(f"{type(self).__name__} does not define html()")

    # --- helpers for subclasses -------------------------------------------------------

    def _output_path(self, filename: str) -> Path:
        """Where `render()` writes `filename`; needs `rendered_artifact_dir`."""
        if self.rendered_artifact_dir is None:
            raise ReportError(
                f"{type(self).__name__} {self.name!r} has no rendered_artifact_dir;"
                " set it to a folder before calling render()"
            )
        folder = Path(self.rendered_artifact_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    def _src(self, filename: str) -> str:
        """The link to a rendered file: relative to the report, or a data URI without one."""
        if self.rendered_artifact_link is not None:
            return f"{self.rendered_artifact_link.rstrip('/')}/{filename}"
        path = self._output_path(filename)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, group={self.group!r}, stage={self.stage!r})"


class HTMLReporter(Reportable):
    """Raw HTML, placed in the report as given (it is the caller's markup, not escaped)."""

    def __init__(self, html_string: str, name: str | None = None, group: str | None = None) -> None:
        super().__init__(name=name, group=group)
        self.html_string = html_string

    def html(self) -> str:
        return str(self.html_string)


def _formatter(float_format: str | Callable[[float], str] | None) -> Callable[[Any], str]:
    if float_format is None:
        return str
    format_float = float_format if callable(float_format) else float_format.format

    def render(value: Any) -> str:
        if isinstance(value, float) or type(value).__name__.startswith("float"):
            try:
                return format_float(value)
            except (ValueError, TypeError):
                return str(value)
        return str(value)

    return render


def frame_table(
    df: Any,
    *,
    float_format: str | Callable[[float], str] | None = "{:.4f}",
    max_rows: int = MAX_TABLE_ROWS,
    index: bool = True,
) -> str:
    """A DataFrame as an escaped HTML table, cut to `max_rows` rows with a note saying so."""
    fmt = _formatter(float_format)
    total = len(df)
    shown = df.iloc[:max_rows] if total > max_rows else df
    columns = [
        " / ".join(map(str, column)) if isinstance(column, tuple) else str(column) for column in df.columns
    ]
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    index_head = f"<th>{escape(str(df.index.name or ''))}</th>" if index else ""
    rows = []
    labels = shown.index.tolist()
    for label, values in zip(labels, shown.itertuples(index=False, name=None)):
        cells = "".join(f"<td>{escape(fmt(value))}</td>" for value in values)
        row_head = f"<th>{escape(str(label))}</th>" if index else ""
        rows.append(f"<tr>{row_head}{cells}</tr>")
    note = ""
    if total > max_rows:
        note = f'<p class="note">Showing the first {max_rows} of {total} rows.</p>'
    return (
        f'<table class="dataframe"><thead><tr>{index_head}{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{note}"
    )


def _frame(df: Any, reporter: str) -> Any:
    """`df` as a DataFrame (a Series becomes a one-column frame)."""
    if hasattr(df, "columns") and hasattr(df, "itertuples"):
        return df
    if hasattr(df, "to_frame"):
        return df.to_frame()
    raise ReportError(f"{reporter} takes a pandas DataFrame or Series, not {type(df).__name__}")


class DFReporter(Reportable):
    """A pandas DataFrame as an HTML table.

    Args:
        df: the frame.
        name: see `Reportable`.
        group: see `Reportable`.
        float_format: a format string (`"{:.4f}"`) or a callable for float cells.
        max_rows: frames longer than this show their first `max_rows` rows and a note.
    """

    def __init__(
        self,
        df: Any,
        name: str | None = None,
        group: str | None = None,
        float_format: str | Callable[[float], str] | None = "{:.4f}",
        max_rows: int = MAX_TABLE_ROWS,
    ) -> None:
        super().__init__(name=name, group=group)
        self.df = _frame(df, "DFReporter")
        self.float_format = float_format
        self.max_rows = max_rows

    def html(self) -> str:
        return frame_table(self.df, float_format=self.float_format, max_rows=self.max_rows)


class JsonReporter(Reportable):
    """A dictionary (any JSON-able value; others shown as text), pretty-printed."""

    def __init__(self, dictionary: Any, name: str | None = None, group: str | None = None) -> None:
        super().__init__(name=name, group=group)
        self.data = dictionary

    def html(self) -> str:
        text = json.dumps(self.data, indent=2, default=str, sort_keys=False)
        return f'<pre class="json">{escape(text)}</pre>'


def _require_matplotlib(what: str) -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ReportError(
            f"{what} needs matplotlib, which is not installed; install it with"
            " `pip install matplotlib` (or `pip install 'tether[plots]'`)"
        ) from None
    return matplotlib


class FigureReporter(Reportable):
    """A matplotlib figure, saved as an image (PNG unless `kwargs` say `format="svg"`).

    Args:
        fig: a `matplotlib.figure.Figure` (anything with `savefig`).
        name: see `Reportable`.
        group: see `Reportable`.
        kwargs: extra arguments to `fig.savefig`.
    """

    def __init__(
        self, fig: Any, name: str | None = None, group: str | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name=name, group=group)
        if not callable(getattr(fig, "savefig", None)):
            raise ReportError(
                f"FigureReporter takes a matplotlib figure, not {type(fig).__name__};"
                " pass plt.gcf() or the Figure you drew on"
            )
        self.fig = fig
        self.kwargs = dict(kwargs or {})
        self.format = str(self.kwargs.get("format", "png")).lower()

    @property
    def filename(self) -> str:
        """The name of the image file `render()` writes."""
        return f"{safe_name(self.name or 'figure')}.{self.format}"

    def render(self) -> None:
        target = self._output_path(self.filename)
        partial = target.with_name(f".{target.name}.partial")
        options = {"bbox_inches": "tight", **self.kwargs, "format": self.format}
        self.fig.savefig(partial, **options)
        os.replace(partial, target)

    def html(self) -> str:
        src = escape(self._src(self.filename))
        if self.format not in _BROWSER_IMAGES:
            # A PDF or EPS figure cannot be shown inline; link it instead.
            return f'<a class="figure" href="{src}">{escape(self.filename)}</a>'
        return f'<img class="figure" src="{src}" alt="{escape(self.name or "")}">'


class LinePlotReporter(FigureReporter):
    """A line plot drawn with matplotlib from lists (or dicts of lists, one line each).

    Args:
        y: values, or a dict of line name to values.
        x: x values (or a dict with the same keys as `y`); defaults to 0, 1, 2, ...
        name: see `Reportable`.
        group: see `Reportable`.
        plot_kwargs: extra arguments to `Axes.plot`.
        savefig_kwargs: extra arguments to `Figure.savefig`.
        xlabel: the x axis label.
        ylabel: the y axis label.
        title: the plot's title.
    """

    def __init__(
        self,
        y: Sequence[float] | Mapping[str, Sequence[float]],
        x: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
        name: str | None = None,
        group: str | None = None,
        plot_kwargs: Mapping[str, Any] | None = None,
        savefig_kwargs: Mapping[str, Any] | None = None,
        xlabel: str | None = None,
        ylabel: str | None = None,
        title: str | None = None,
    ) -> None:
        _require_matplotlib("LinePlotReporter")
        from matplotlib.figure import Figure

        lines = dict(y) if isinstance(y, Mapping) else {None: y}
        if isinstance(x, Mapping):
            missing = set(lines) - set(x)
            if missing:
                raise ReportError(
                    f"LinePlotReporter: x has no values for lines {sorted(map(str, missing))};"
                    " give x as one sequence or a dict with the same keys as y"
                )
        # A Figure made directly (not through pyplot) needs no GUI backend and is
        # not kept alive by pyplot's global list of figures.
        fig = Figure(figsize=(6, 3.5))
        axes = fig.add_subplot()
        for label, values in lines.items():
            values = list(values)
            xs = x[label] if isinstance(x, Mapping) else (list(range(len(values))) if x is None else x)
            axes.plot(list(xs), values, label=label, **dict(plot_kwargs or {}))
        if len(lines) > 1 or None not in lines:
            axes.legend()
        if xlabel:
            axes.set_xlabel(xlabel)
        if ylabel:
            axes.set_ylabel(ylabel)
        if title:
            axes.set_title(title)
        super().__init__(fig, name=name, group=group, kwargs=savefig_kwargs)


class ImageReporter(Reportable):
    """An image file (PNG, JPEG, SVG, GIF, ...), copied into the report.

    Args:
        path: the image's path.
        name: see `Reportable` (defaults to the file's name).
        group: see `Reportable`.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None, group: str | None = None) -> None:
        super().__init__(name=name or Path(path).stem, group=group)
        self.path = Path(path)

    @property
    def filename(self) -> str:
        """The name of the copy in the report."""
        return safe_name(self.path.name)

    def render(self) -> None:
        if not self.path.is_file():
            raise ReportError(f"ImageReporter {self.name!r}: no image file at {self.path}; check the path")
        target = self._output_path(self.filename)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(self.path, partial)
        os.replace(partial, target)

    def html(self) -> str:
        return f'<img class="image" src="{escape(self._src(self.filename))}" alt="{escape(self.name or "")}">'


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(char) for char in _LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped."""
    return _LATEX_PATTERN.sub(lambda match: _LATEX_SPECIAL[match.group()], text)


class LatexTableReporter(Reportable):
    """A DataFrame as a LaTeX table (a `.tex` file to paste into a paper) and an HTML table.

    Args:
        df: the frame.
        name: see `Reportable`.
        group: see `Reportable`.
        include_index: write the index as the first column.
        float_format: a format string (`"{:.3f}"`) or a callable for float cells.
        caption: the table's caption.
        label: the table's `\\label`.
        bold_max: columns whose largest value is set in bold.
    """

    def __init__(
        self,
        df: Any,
        name: str | None = None,
        group: str | None = None,
        include_index: bool = True,
        float_format: str | Callable[[float], str] | None = "{:.3f}",
        caption: str | None = None,
        label: str | None = None,
        bold_max: Sequence[str] = (),
    ) -> None:
        super().__init__(name=name, group=group)
        self.df = _frame(df, "LatexTableReporter")
        self.include_index = include_index
        self.float_format = float_format
        self.caption = caption
        self.label = label
        self.bold_max = list(bold_max)

    @property
    def filename(self) -> str:
        """The name of the `.tex` file `render()` writes."""
        return f"{safe_name(self.name or 'table')}.tex"

    def latex(self) -> str:
        """The LaTeX source of the table (booktabs rules)."""
        fmt = _formatter(self.float_format)
        columns = [str(column) for column in self.df.columns]
        best = {}
        for column in self.bold_max:
            if column in self.df.columns:
                values = [v for v in self.df[column].tolist() if isinstance(v, (int, float)) and not math.isnan(v)]
                best[str(column)] = max(values) if values else None
        spec = ("l" if self.include_index else "") + "r" * len(columns)
        lines = [r"\begin{table}", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
        head = [latex_escape(str(self.df.index.name or ""))] if self.include_index else []
        lines.append(" & ".join(head + [latex_escape(c) for c in columns]) + r" \\")
        lines.append(r"\midrule")
        for label, values in zip(self.df.index.tolist(), self.df.itertuples(index=False, name=None)):
            cells = [latex_escape(str(label))] if self.include_index else []
            for column, value in zip(columns, values):
                cell = latex_escape(fmt(value))
                if column in best and best[column] is not None and value == best[column]:
                    cell = rf"\textbf{{{cell}}}"
                cells.append(cell)
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if self.caption:
            lines.append(rf"\caption{{{latex_escape(self.caption)}}}")
        if self.label:
            lines.append(rf"\label{{{self.label}}}")
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def render(self) -> None:
        target = self._output_path(self.filename)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(self.latex(), encoding="utf-8")
        os.replace(partial, target)

    def html(self) -> str:
        table = frame_table(self.df, float_format=self.float_format, index=self.include_index)
        link = ""
        if self.rendered_artifact_link is not None:
            link = f' (<a href="{escape(self._src(self.filename))}">{escape(self.filename)}</a>)'
        caption = f'<p class="caption">{escape(self.caption)}</p>' if self.caption else ""
        return (
            f"{table}{caption}<details><summary>LaTeX source{link}</summary>"
            f'<pre class="latex">{escape(self.latex())}</pre></details>'
        )
