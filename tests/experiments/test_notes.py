"""`ArtifactManager(notes="")` asks for the notes: on the terminal, or from a piped stdin."""

from __future__ import annotations

import io

import pytest

from tether.catalog import default_catalog
from tether.experiments import ArtifactManager, run_experiment


class Terminal(io.StringIO):
    """Typed lines, as stdin on a terminal."""

    def isatty(self) -> bool:
        return True


class Unreadable(io.StringIO):
    def read(self, *args):
        raise AssertionError("stdin was read")

    readline = read


def test_a_piped_stdin_is_read_to_its_end(exp_project, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("Bigger sets\n\nto see the trend.\n"))
    manager = ArtifactManager("n", notes="")
    assert manager.notes == "Bigger sets\n\nto see the trend."
    assert capsys.readouterr().err == ""


def test_on_a_terminal_lines_are_read_up_to_an_empty_line(exp_project, monkeypatch, capsys):
    typed = Terminal("Bigger sets\nto see the trend.\n\nnot the notes\n")
    monkeypatch.setattr("sys.stdin", typed)
    assert ArtifactManager("n", notes="").notes == "Bigger sets\nto see the trend."
    assert "Notes for this run" in capsys.readouterr().err
    assert typed.read() == "not the notes\n"


@pytest.mark.parametrize(("typed", "notes"), [("one line, then Ctrl-D", "one line, then Ctrl-D"), ("\n", None), ("", None)])
def test_on_a_terminal_the_end_of_input_ends_the_notes(exp_project, monkeypatch, typed, notes):
    monkeypatch.setattr("sys.stdin", Terminal(typed))
    assert ArtifactManager("n", notes="").notes == notes


def test_none_and_text_ask_nothing(exp_project, monkeypatch):
    monkeypatch.setattr("sys.stdin", Unreadable())
    assert ArtifactManager("n").notes is None
    assert ArtifactManager("n", notes="given").notes == "given"
    assert ArtifactManager("n", notes="", parallel_mode=True).notes == ""


def test_an_experiment_run_records_the_notes_it_was_given_on_stdin(chain, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("tried b\n"))
    manager = run_experiment("chain", ["base"], notes="", report=False)
    assert manager.notes == "tried b"
    assert default_catalog.get_run(manager.get_reference_name()).record["run_info"]["notes"] == "tried b"
