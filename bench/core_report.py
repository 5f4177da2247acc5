"""The results table of `bench_core.py`: rows, budgets and the tether checkout's revision."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of the results table."""

    measure: str
    tether: float | None
    gluepy: float | None
    unit: str
    budget: str = ""
    status: str = ""

    @property
    def ratio(self) -> float | None:
        """tether / gluepy."""
        if self.tether is None or self.gluepy is None or self.tether <= 0 or self.gluepy <= 0:
            return None
        return self.tether / self.gluepy


_SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    scaled = value * _SCALE[unit]
    return f"{scaled:.1f} {unit}" if scaled < 1000 else f"{scaled:.0f} {unit}"


def budget_status(value: float | None, limit: float) -> str:
    """PASS, FAIL, or ERROR when the value could not be measured."""
    if value is None:
        return "ERROR"
    return "PASS" if value <= limit else "FAIL"


SKIPPED = "SKIPPED"


def judged(row: Row, limit: float, on_ratio: bool = False, skipped: bool = False) -> Row:
    """`row` with its budget text and PASS/FAIL/ERROR (or SKIPPED) status filled in."""
    value = row.ratio if on_ratio else row.tether
    if on_ratio:
        row.budget = f"tether/gluepy <= {limit:.1f}"
    else:
        row.budget = f"tether <= {limit * _SCALE[row.unit]:.0f} {row.unit}"
    row.status = SKIPPED if skipped else budget_status(value, limit)
    return row


def print_table(rows: Sequence[Row]) -> None:
    """Print the rows as an aligned text table."""
    header = ("measure (median)", "tether", "gluepy 1.6.0", "ratio", "budget", "status")
    lines = [
        (row.measure, _fmt(row.tether, row.unit), _fmt(row.gluepy, row.unit),
         f"{row.ratio:.2f}" if row.ratio is not None else "", row.budget, row.status)
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())


def git_revision() -> dict[str, Any]:
    """The commit and dirty flag of the tether checkout (empty outside git)."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


