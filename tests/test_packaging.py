"""What the package declares and what importing it costs."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "numpy", "dask", "fsspec", "rich", "jinja2")


def test_parquet_dependency_is_declared():
    """Parquet works in a fresh install: pyarrow is a declared dependency, not an accident."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("[")[0].strip() for dep in project["dependencies"]}
    assert {"pandas", "pyarrow", "pyyaml", "click", "fsspec"} <= names
    assert project["scripts"]["tether"] == "tether.cli:main"


def _imported_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_import_tether_is_light():
    modules = _imported_after("import tether")
    assert not {name for name in HEAVY if name in modules}


def test_help_does_not_import_heavy_libraries():
    code = "import sys; sys.argv=['tether','--help']\ntry:\n from tether.cli import main; main()\nexcept SystemExit: pass"
    probe = code + "\nprint('MODULES', ' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    modules = set(done.stdout.split("MODULES", 1)[1].split())
    assert not {name for name in ("pandas", "pyarrow", "numpy", "dask") if name in modules}


def test_python_m_tether():
    done = subprocess.run([sys.executable, "-m", "tether", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("tether ")
