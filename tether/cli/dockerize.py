"""`tether dockerize`: a Dockerfile and a build context that run the project's commands.

The context holds the project's sources (without data, run folders, reports,
the catalog or virtual environments), a copy of the tether package that runs
it, and the requirements to install. The image's entry point is
`python manage.py`, so `docker run IMAGE dag LABEL` runs a DAG; choose the
settings with `-e TETHER_SETTINGS_MODULE=configs.prod`.

The context is written beside its final place and renamed into it, so an
interrupted run never leaves a context that looks complete.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click

from tether.exceptions import ImproperlyConfigured, UsageError

# Never copied into the image: local state and what a build must not bake in.
ALWAYS_EXCLUDED = (
    ".git",
    ".tether",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    "build",
    "data",
    "reports",
    "*.egg-info",
)

_DOCKERFILE = """\
# Written by `tether dockerize`; build with: docker build -t {tag} .
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PYTHONPATH=/opt/tether
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
COPY tether /opt/tether/tether
WORKDIR /app
COPY project /app
ENTRYPOINT ["python", "manage.py"]
CMD ["--help"]
"""


def requirements(extras: tuple[str, ...], project_root: Path) -> list[str]:
    """tether's own requirements (with `extras`), then those of the project's requirements.txt."""
    try:
        declared = metadata.requires("tether") or []
    except metadata.PackageNotFoundError:
        raise ImproperlyConfigured("tether is not installed as a package; install it with pip first") from None
    known = set(metadata.metadata("tether").get_all("Provides-Extra") or [])
    unknown = sorted(set(extras) - known)
    if unknown:
        raise UsageError(f"unknown extra {', '.join(unknown)}; choose from {', '.join(sorted(known - {'test'}))}")
    lines: list[str] = []
    for requirement in declared:
        name, _, marker = requirement.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if extra is None or extra.group(1) in extras:
            lines.append(name.strip())
    own = project_root / "requirements.txt"
    if own.is_file():
        lines += [line.strip() for line in own.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(lines))


def _ignore(patterns: tuple[str, ...]):
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)}

    return ignore


def write_context(
    project_root: Path,
    dest: Path,
    *,
    python: str,
    tag: str,
    extras: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> Path:
    """Write the build context for the project at `project_root` into `dest`; returns `dest`.

    Raises:
        UsageError: `dest` is inside a folder that would be copied, or an extra is unknown.
    """
    project_root, dest = project_root.resolve(), dest.resolve()
    patterns = ALWAYS_EXCLUDED + exclude
    if dest.is_relative_to(project_root):
        top = dest.relative_to(project_root).parts[0]
        if not any(fnmatch.fnmatch(top, pattern) for pattern in patterns):
            raise UsageError(
                f"{dest} is inside the project and would copy itself; write it under build/"
                " or outside the project, or add --exclude " + top
            )
    lines = requirements(extras, project_root)
    package = Path(__file__).resolve().parent.parent
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        shutil.copytree(project_root, temp / "project", ignore=_ignore(patterns))
        shutil.copytree(package, temp / "tether", ignore=_ignore(("__pycache__", "*.pyc")))
        (temp / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (temp / "Dockerfile").write_text(_DOCKERFILE.format(python=python, tag=tag), encoding="utf-8")
        (temp / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n", encoding="utf-8")
        old = dest.with_name(f".{dest.name}.{os.getpid()}.old")
        if dest.exists():
            os.replace(dest, old)
        os.replace(temp, dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return dest


@click.command()
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Where to write the context [BASE_DIR/build/docker].")
@click.option("--python", "python", default=f"{sys.version_info[0]}.{sys.version_info[1]}", show_default=True,
              help="Python version of the base image.")
@click.option("--tag", "-t", help="Image name for --build [the project folder's name].")
@click.option("--extra", "extras", multiple=True, help="Install a tether extra too (s3, gcs, polars, sql); repeatable.")
@click.option("--exclude", multiple=True, help="Also leave out files or folders matching this pattern; repeatable.")
@click.option("--build", is_flag=True, help="Run `docker build` on the context.")
def dockerize(output: str | None, python: str, tag: str | None, extras: tuple[str, ...], exclude: tuple[str, ...],
              build: bool) -> None:
    """Write a Dockerfile and build context for this project (and build it with --build)."""
    from tether.conf import settings

    root = Path(settings.BASE_DIR)
    if not (root / "manage.py").is_file():
        raise UsageError(f"{root} has no manage.py; run tether dockerize inside a project")
    if not re.fullmatch(r"3\.\d+", python):
        raise UsageError(f"--python {python!r} is not a Python version such as 3.11")
    tag = tag or re.sub(r"[^a-z0-9_.-]", "-", root.name.lower())
    dest = write_context(root, Path(output) if output else root / "build" / "docker", python=python, tag=tag,
                         extras=extras, exclude=exclude)
    click.echo(f"Wrote {dest / 'Dockerfile'} and its build context.")
    if not build:
        click.echo(f"Build it with: docker build -t {tag} {dest}")
        return
    docker = shutil.which("docker")
    if docker is None:
        raise ImproperlyConfigured(f"docker is not on PATH; install Docker, or build elsewhere with: docker build -t {tag} {dest}")
    result = subprocess.run([docker, "build", "-t", tag, str(dest)])
    if result.returncode:
        raise click.exceptions.Exit(1)
    click.echo(f"Built image {tag}; run a DAG with: docker run --rm {tag} dag LABEL")
