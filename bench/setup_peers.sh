#!/usr/bin/env bash
# Create the virtual environments of the tools tether is benchmarked against.
#
#   bench/.venv-gluepy   gluepy==1.6.0 from PyPI, with its declared dependencies
#                        (pandas, numpy, matplotlib, click, pyyaml, jinja2,
#                        python-box, requests). Running a DAG on LocalStorage
#                        needs nothing beyond those.
#
# Safe to run again: an environment that already holds the pinned version is
# left as it is. PYTHON selects the interpreter (default: python3).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
GLUEPY_VERSION="1.6.0"
GLUEPY_VENV="$HERE/.venv-gluepy"

installed_version() {
    "$GLUEPY_VENV/bin/python" -c 'import gluepy; print(gluepy.VERSION)' 2>/dev/null || true
}

if [ ! -x "$GLUEPY_VENV/bin/python" ]; then
    echo "creating $GLUEPY_VENV" >&2
    "$PYTHON" -m venv "$GLUEPY_VENV"
fi

if [ "$(installed_version)" != "$GLUEPY_VERSION" ]; then
    "$GLUEPY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "gluepy==$GLUEPY_VERSION"
fi

version="$(installed_version)"
if [ "$version" != "$GLUEPY_VERSION" ]; then
    echo "error: gluepy $GLUEPY_VERSION is not importable from $GLUEPY_VENV" >&2
    exit 1
fi
echo "gluepy $version in $GLUEPY_VENV ($("$GLUEPY_VENV/bin/python" --version 2>&1))"
