"""The root command group: project discovery, lazy subcommands, one-line errors."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from tether import __version__
from tether.exceptions import TetherError

SETTINGS_VARIABLE = "TETHER_SETTINGS_MODULE"
DEFAULT_SETTINGS_MODULE = "configs.settings"

# name -> (import path, one-line help). Help is kept here so that `--help`
# imports none of the commands.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "startproject": ("tether.cli.project:startproject", "Create a new tether project."),
    "startmodule": ("tether.cli.project:startmodule", "Create a module in this project and install it."),
    "check": ("tether.cli.project:check", "Check the project's settings, configuration and DAGs."),
    "dag": ("tether.cli.dag:dag", "Run a DAG."),
    "runs": ("tether.cli.runs:runs", "List, show and compare runs."),
    "catalog": ("tether.cli.catalog:catalog", "Maintain the catalog, the index of runs."),
    "airflow": ("tether.cli.airflow:airflow", "Generate Airflow DAG files from tether DAGs."),
    "dockerize": ("tether.cli.dockerize:dockerize", "Write a Dockerfile and build context for this project."),
    "context": ("tether.cli.bundles:context_command", "List the data contexts, or create one."),
    "switch": ("tether.cli.bundles:switch_command", "Make a data context the current one."),
    "ls": ("tether.cli.bundles:ls_command", "List bundles, newest first."),
    "cat": ("tether.cli.bundles:cat_command", "Print the data of a bundle."),
    "add": ("tether.cli.bundles:add_command", "Make a bundle of a file or folder."),
    "commit": ("tether.cli.bundles:commit_command", "Commit a bundle."),
    "rm": ("tether.cli.bundles:rm_command", "Remove bundles."),
    "lineage": ("tether.cli.bundles:lineage_command", "Show what a bundle was made from, or what was made from it."),
    "bundle": ("tether.cli.bundles:bundle", "Show every property of a bundle."),
    "experiment": ("tether.cli.experiment:experiment", "Run an experiment over parameter sets, or list experiment runs."),
    "remote": ("tether.cli.remotes:remote_command", "Bind the data context to a remote URL, or show it."),
    "push": ("tether.cli.remotes:push_command", "Push committed bundles to the context's remote."),
    "pull": ("tether.cli.remotes:pull_command", "Pull bundles from the context's remote."),
    "rmr": ("tether.cli.remotes:rmr_command", "Remove bundles from the context's remote."),
    "report": ("tether.cli.report:report", "Write the HTML report of a run."),
}


def find_project(start: str) -> str | None:
    """The nearest folder at or above `start` holding a `manage.py`."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(folder, "manage.py")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _settings_module_of(manage_py: str) -> str:
    try:
        with open(manage_py, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return DEFAULT_SETTINGS_MODULE
    match = re.search(rf"""{SETTINGS_VARIABLE}["']\s*,\s*["']([\w.]+)["']""", text)
    return match.group(1) if match else DEFAULT_SETTINGS_MODULE


def bootstrap(cwd: str | None = None) -> str | None:
    """Make the project importable and name its settings module; return its folder."""
    cwd = cwd or os.getcwd()
    project = find_project(cwd)
    if project is not None and not os.environ.get(SETTINGS_VARIABLE):
        os.environ[SETTINGS_VARIABLE] = _settings_module_of(os.path.join(project, "manage.py"))
    for folder in (project, cwd):
        if folder and folder not in sys.path:
            sys.path.insert(0, folder)
    return project


def _module_commands() -> dict[str, click.Command]:
    """Click commands that the project's INSTALLED_MODULES define in `commands` modules."""
    if not os.environ.get(SETTINGS_VARIABLE):
        return {}
    from tether.conf import settings

    found: dict[str, click.Command] = {}
    for package in settings.INSTALLED_MODULES:
        try:
            module = importlib.import_module(f"{package}.commands")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package}.commands":
                continue
            raise
        for value in vars(module).values():
            if isinstance(value, click.Command) and value.name:
                found.setdefault(value.name, value)
    return found


class TetherGroup(click.Group):
    """Built-in commands imported on use, plus the commands of installed modules."""

    def _project_commands(self) -> dict[str, click.Command]:
        try:
            return _module_commands()
        except Exception:
            # A broken project must not break `--help`; running a command will
            # report the problem.
            return {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(BUILTIN_COMMANDS) | set(self.commands) | set(self._project_commands())
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS:
            module_path, _, attr = BUILTIN_COMMANDS[name][0].partition(":")
            return getattr(importlib.import_module(module_path), attr)
        if name in self.commands:
            return self.commands[name]
        return _module_commands().get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in BUILTIN_COMMANDS.items()]
        for name, command in {**self._project_commands(), **self.commands}.items():
            if name not in BUILTIN_COMMANDS:
                rows.append((name, command.get_short_help_str(60)))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        command = self.get_command(ctx, name) if name else None
        if command is None and name and not name.startswith("-"):
            from tether.utils import close_matches

            raise click.UsageError(
                f"no command {name!r}." + close_matches(name, self.list_commands(ctx))
                + " Run with --help to list the commands.",
                ctx,
            )
        return super().resolve_command(ctx, args)


@click.group(cls=TetherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tether", message="%(prog)s %(version)s")
def cli() -> None:
    """tether: reproducible data-science and ML pipelines.

    Add --traceback to any command to see the full traceback of an error.
    """


def prog_of(ctx: click.Context) -> str:
    """How the user invoked tether, as a command to print back (`python manage.py`)."""
    name = ctx.find_root().info_name or "tether"
    return f"python {name}" if name.endswith(".py") else name


def call_command(*args: str, prog_name: str = "tether") -> int:
    """Run a tether command in this process and return its exit code (for tests and scripts)."""
    try:
        code = cli.main(args=list(args), prog_name=prog_name, standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return code if isinstance(code, int) else 0


def main(argv: Sequence[str] | None = None, prog_name: str | None = None) -> None:
    """Entry point of the `tether` console script and of `manage.py`."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get("TETHER_TRACEBACK") == "1"
    args = [arg for arg in args if arg != "--traceback"]
    if prog_name is None:
        prog_name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "tether"
        if prog_name == "__main__.py":
            prog_name = "tether"
    bootstrap()
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except TetherError as exc:
        if show_traceback:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
