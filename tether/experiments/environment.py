"""What an experiment run records about its environment: packages, conda, git, the machine."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

__all__ = ["pip_freeze", "conda_export", "git_state", "git_diff", "python_info"]


_DIST_SUFFIXES = (".dist-info", ".egg-info")


def _read_name_version(folder: str) -> tuple[str, str] | None:
    """Name and version from the first lines of METADATA / PKG-INFO (no email parsing)."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, filename), encoding="utf-8", errors="replace") as handle:
                name = version = None
                for line in handle:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    elif not line.strip():
                        break
                    if name and version:
                        return name, version
        except OSError:
            continue
    return None


@functools.cache
def pip_freeze() -> str:
    """Every installed distribution as `name==version` lines, sorted (complete, never truncated).

    Read from the `*.dist-info` / `*.egg-info` folders on `sys.path` (what
    `importlib.metadata` reads, without its slow header parsing), so it needs
    neither pip nor a subprocess; direct-URL and editable installs give
    `name @ url`, as `pip freeze` does.
    """
    import json

    lines: dict[str, str] = {}
    for base in sys.path:
        try:
            entries = sorted(os.listdir(base or "."))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(_DIST_SUFFIXES):
                continue
            folder = os.path.join(base or ".", entry)
            found = _read_name_version(folder)
            if found is None:
                continue
            name, version = found
            key = name.lower().replace("_", "-").replace(".", "-")
            if key in lines:
                continue
            line = f"{name}=={version}"
            try:
                with open(os.path.join(folder, "direct_url.json"), encoding="utf-8") as handle:
                    url = json.load(handle).get("url")
            except (OSError, ValueError):
                url = None
            if url:
                line = f"{name} @ {url}"
            lines[key] = line
    return "\n".join(lines[key] for key in sorted(lines)) + "\n"


@functools.cache
def conda_export() -> str | None:
    """`conda env export --from-history` of the active conda environment, or None without conda."""
    executable = os.environ.get("CONDA_EXE") or shutil.which("conda")
    if not executable or not os.environ.get("CONDA_PREFIX"):
        return None
    try:
        done = subprocess.run([executable, "env", "export", "--from-history"], capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(path: str) -> dict[str, Any]:
    """Full commit hash, branch and dirty flag of the checkout holding `path` ({} outside git)."""
    from tether.exec.records import git_info

    return git_info(path)


def git_diff(path: str) -> str | None:
    """`git diff HEAD` (uncommitted changes, staged or not) of the checkout holding `path`."""
    try:
        done = subprocess.run(["git", "-C", path, "diff", "HEAD"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def python_info() -> dict[str, str]:
    """The Python version, executable and platform."""
    return {
        "python": sys.version.split()[0],
        "python_full": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
