"""The `tether` command line (also `python manage.py ...` and `python -m tether`)."""

from tether.cli.main import call_command, cli, main

__all__ = ["cli", "main", "call_command"]
