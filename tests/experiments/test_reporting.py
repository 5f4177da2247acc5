"""Reporters: what each renders, escaping, files written under rendered_artifact_dir."""

from __future__ import annotations

import base64
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from tether.experiments.report import reportables_html
from tether.experiments.reporting import (
    DFReporter,
    FigureReporter,
    HTMLReporter,
    ImageReporter,
    JsonReporter,
    LatexTableReporter,
    LinePlotReporter,
    Reportable,
    ReportError,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class Tags(HTMLParser):
    """Start tags with their attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def rendered(reportable: Reportable, folder: Path) -> Tags:
    reportable.rendered_artifact_dir = folder / "reportables" / "r"
    reportable.rendered_artifact_link = "reportables/r"
    reportable.render()
    return Tags(reportable.html())


class FakeRecord:
    def get_hash(self) -> str:
        return "0123456789abcdef"


def test_qualified_name_is_made_of_record_hash_stage_and_name():
    reportable = JsonReporter({}, name="my table")
    assert reportable.qualified_name == "live_my-table"
    reportable.record, reportable.stage = FakeRecord(), "train"
    assert reportable.qualified_name == "0123456789_train_my-table"


def test_html_reporter_keeps_the_callers_markup():
    assert HTMLReporter("<b>bold</b>", name="x").html() == "<b>bold</b>"


def test_df_reporter_escapes_cells_columns_and_index():
    frame = pd.DataFrame({"<col>": ["<script>x</script>", "a&b"]}, index=["<i>", "j"])
    html = DFReporter(frame).html()
    assert "<script>" not in html and "<col>" not in html and "<i>" not in html
    parsed = Tags(html)
    assert "<script>x</script>" in parsed.text and "<col>" in parsed.text and "<i>" in parsed.text


def test_df_reporter_formats_floats_and_truncates_large_frames():
    frame = pd.DataFrame({"x": [i / 3 for i in range(1000)]})
    html = DFReporter(frame, float_format="{:.2f}", max_rows=10).html()
    parsed = Tags(html)
    assert len(parsed.named("tr")) == 11  # header + 10 rows
    assert "0.33" in parsed.text and "0.3333" not in html
    assert "Showing the first 10 of 1000 rows." in parsed.text


def test_json_reporter_pretty_prints_and_escapes():
    html = JsonReporter({"a": "</pre><script>", "b": [1, 2]}).html()
    assert "<script>" not in html
    assert '"a": "</pre><script>"' in "".join(Tags(html).text)
    assert '\n  "b": [' in "".join(Tags(html).text)


def test_figure_reporter_saves_the_figure_and_links_it_relatively(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2, 3])
    reporter = FigureReporter(fig, name="loss curve")
    parsed = rendered(reporter, tmp_path)
    assert parsed.named("img")[0]["src"] == "reportables/r/loss-curve.png"
    assert (tmp_path / "reportables" / "r" / "loss-curve.png").read_bytes()[:4] == b"\x89PNG"


def test_figure_reporter_can_write_svg(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2])
    rendered(FigureReporter(fig, name="f", kwargs={"format": "svg"}), tmp_path)
    assert (tmp_path / "reportables" / "r" / "f.svg").read_text().lstrip().startswith("<?xml")


def test_figure_reporter_refuses_what_is_not_a_figure():
    with pytest.raises(ReportError, match="matplotlib figure"):
        FigureReporter([1, 2, 3])


def test_line_plot_reporter_draws_one_line_per_key(tmp_path):
    reporter = LinePlotReporter({"train": [3, 2, 1], "test": [4, 3, 3]}, name="loss", xlabel="epoch")
    assert len(reporter.fig.axes[0].lines) == 2
    rendered(reporter, tmp_path)
    assert (tmp_path / "reportables" / "r" / "loss.png").is_file()


def test_line_plot_reporter_checks_x_keys():
    with pytest.raises(ReportError, match="no values for lines"):
        LinePlotReporter({"a": [1], "b": [2]}, x={"a": [0]})


def test_plot_reporters_without_matplotlib_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an uninstalled package looks like
    with pytest.raises(ReportError, match="pip install matplotlib"):
        LinePlotReporter([1, 2, 3])


def test_image_reporter_copies_the_image(tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(PNG)
    parsed = rendered(ImageReporter(image), tmp_path)
    assert parsed.named("img")[0]["src"] == "reportables/r/pic.png"
    assert (tmp_path / "reportables" / "r" / "pic.png").read_bytes() == PNG


def test_image_reporter_names_a_missing_file(tmp_path):
    reporter = ImageReporter(tmp_path / "nope.png")
    reporter.rendered_artifact_dir = tmp_path / "out"
    with pytest.raises(ReportError, match="no image file"):
        reporter.render()


def test_latex_table_reporter_writes_tex_and_shows_a_table(tmp_path):
    frame = pd.DataFrame({"acc_top1": [0.91234, 0.95], "model": ["a&b", "c"]}, index=["x", "y"])
    reporter = LatexTableReporter(frame, name="results", caption="50% <done>", bold_max=["acc_top1"])
    parsed = rendered(reporter, tmp_path)
    tex = (tmp_path / "reportables" / "r" / "results.tex").read_text()
    assert r"acc\_top1" in tex and r"a\&b" in tex and r"\textbf{0.950}" in tex
    assert r"\caption{50\% <done>}" in tex
    assert parsed.named("table") and "50% <done>" in parsed.text
    assert parsed.named("a")[0]["href"] == "reportables/r/results.tex"


def test_render_without_a_folder_is_a_clear_error():
    with pytest.raises(ReportError, match="rendered_artifact_dir"):
        LatexTableReporter(pd.DataFrame({"a": [1]}), name="t").render()


def test_reportables_without_a_report_folder_embed_their_images(tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(PNG)
    html = reportables_html([ImageReporter(image, name="pic"), JsonReporter({"k": 1}, name="j")])
    src = Tags(html).named("img")[0]["src"]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == PNG


def test_a_broken_reportable_shows_its_error_instead_of_failing(tmp_path):
    html = reportables_html([ImageReporter(tmp_path / "missing.png", name="gone")], folder=tmp_path)
    assert "Could not render: ReportError" in html


def test_a_pdf_figure_is_linked_rather_than_shown(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2])
    parsed = rendered(FigureReporter(fig, name="print", kwargs={"format": "pdf"}), tmp_path)
    assert not parsed.named("img")
    assert parsed.named("a")[0]["href"] == "reportables/r/print.pdf"
    assert (tmp_path / "reportables" / "r" / "print.pdf").read_bytes().startswith(b"%PDF")


def test_table_reporters_take_a_series_and_refuse_other_values():
    html = DFReporter(pd.Series([1.5, 2.5], name="score")).html()
    assert "score" in Tags(html).text and "1.5000" in Tags(html).text
    with pytest.raises(ReportError, match="DataFrame or Series"):
        DFReporter([[1, 2]])
    with pytest.raises(ReportError, match="DataFrame or Series"):
        LatexTableReporter({"a": 1})
