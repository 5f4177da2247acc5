#!/usr/bin/env python
"""Command-line entry point of the sales_forecast project: `python manage.py --help`."""

import os
import sys


def main() -> None:
    os.environ.setdefault("TETHER_SETTINGS_MODULE", "configs.settings")
    try:
        from tether.cli import main as tether_main
    except ImportError as exc:
        raise ImportError(
            "Couldn't import tether. Is it installed and on the PYTHONPATH?"
            " Did you forget to activate a virtual environment?"
        ) from exc
    tether_main(sys.argv[1:], prog_name=os.path.basename(sys.argv[0]))


if __name__ == "__main__":
    main()
