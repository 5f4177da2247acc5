"""`tether startproject`, `python manage.py startmodule` and `tether check`."""

from __future__ import annotations

import keyword
import os
import re
import shutil
import string
import sys
import tempfile
from importlib import resources
from importlib.util import find_spec

import click

from tether.exceptions import UsageError

_DOTFILES = {"gitignore": ".gitignore", "gitkeep": ".gitkeep"}


def _check_name(name: str, what: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(
            f"{name!r} is not a valid {what} name; use letters, digits and underscores,"
            " starting with a letter"
        )
    if name in sys.stdlib_module_names or (name not in sys.modules and find_spec(name) is not None):
        raise UsageError(
            f"{name!r} would shadow the Python module of the same name; choose another {what} name"
        )


def _render_tree(template: str, target: str, values: dict[str, str]) -> None:
    """Render the template folder `template` into the new folder `target`, all or nothing."""
    parent = os.path.dirname(os.path.abspath(target))
    staging = tempfile.mkdtemp(prefix=".tether-", dir=parent)
    try:
        source = resources.files("tether.cli") / "templates" / template
        _copy(source, staging, values)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _copy(source: resources.abc.Traversable, dest: str, values: dict[str, str]) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            os.makedirs(os.path.join(dest, entry.name), exist_ok=True)
            _copy(entry, os.path.join(dest, entry.name), values)
        elif entry.name.endswith("-tpl"):
            name = entry.name[: -len("-tpl")]
            name = _DOTFILES.get(name, name)
            text = string.Template(entry.read_text(encoding="utf-8")).substitute(values)
            with open(os.path.join(dest, name), "w", encoding="utf-8") as handle:
                handle.write(text)


@click.command()
@click.argument("name")
@click.argument("directory", required=False)
def startproject(name: str, directory: str | None) -> None:
    """Create the project NAME in ./NAME (or in DIRECTORY)."""
    _check_name(name, "project")
    target = os.path.abspath(directory or name)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise UsageError(f"{target} already exists and is not empty; choose another name or folder")
    if os.path.isdir(target):
        os.rmdir(target)
    _render_tree("project", target, {"project_name": name})
    os.chmod(os.path.join(target, "manage.py"), 0o755)
    shown = os.path.relpath(target)
    click.echo(f"Created project {name} in {shown}. Next:")
    click.echo(f"  cd {shown} && python manage.py startmodule <module> && python manage.py dag <module>")


def _settings_files() -> list[str]:
    """Files of the settings module's package, the settings module itself first."""
    from tether.conf import settings

    module = sys.modules.get(settings.SETTINGS_MODULE or "")
    first = getattr(module, "__file__", None)
    files = [first] if first else []
    folder = os.path.dirname(first) if first else os.path.join(settings.BASE_DIR, "configs")
    if os.path.isdir(folder):
        files += sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".py"))
    return list(dict.fromkeys(files))


_INSTALLED = re.compile(r"^INSTALLED_MODULES\s*=\s*\[(?P<body>[^\]]*)\]", re.MULTILINE)


def _install(module: str) -> str | None:
    """Add `module` to INSTALLED_MODULES in the settings file that defines it; return the file."""
    for path in _settings_files():
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        match = _INSTALLED.search(text)
        if match is None:
            continue
        body = match.group("body").rstrip()
        if body and not body.endswith(","):
            body += ","
        entry = f'\n    "{module}",\n' if "\n" in body or body else f'"{module}"'
        new = f"{text[:match.start('body')]}{body}{entry}{text[match.end('body'):]}"
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.replace(tmp, path)
        return path
    return None


@click.command()
@click.argument("name")
def startmodule(name: str) -> None:
    """Create the module NAME (tasks, dags, commands) and add it to INSTALLED_MODULES."""
    from tether.conf import settings

    _check_name(name, "module")
    target = os.path.join(settings.BASE_DIR, name)
    if os.path.exists(target):
        raise UsageError(f"{target} already exists; choose another module name")
    prefix = "".join(part.capitalize() for part in name.split("_"))
    _render_tree("module", target, {"module_name": name, "class_prefix": prefix})
    installed = _install(name)
    click.echo(f"Created module {name} in {os.path.relpath(target)}.")
    if installed:
        click.echo(f"Added {name!r} to INSTALLED_MODULES in {os.path.relpath(installed)}.")
    else:
        click.echo(f"Add {name!r} to INSTALLED_MODULES in your settings to use it.")


@click.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the project's settings, configuration and DAGs; exit 2 on errors."""
    from tether.cli.checks import run_checks

    problems = run_checks()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"Found {len(problems)} problem(s).", err=True)
        ctx.exit(2)
    click.echo("No problems found.")


__all__ = ["startproject", "startmodule", "check"]
