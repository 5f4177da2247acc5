"""Fingerprints of values and of code."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

from tether.experiments.hashing import code_fingerprint, fingerprint


def _function(tmp_path: Path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.work


def test_code_fingerprint_ignores_comments_docstrings_and_formatting(tmp_path):
    base = _function(tmp_path, "v1", """
        def work(record, data):
            return [x * 2 for x in data]
    """)
    noisy = _function(tmp_path, "v2", '''
        def work(record, data):
            """Double everything."""
            # a comment that changes nothing
            return [x*2
                    for x in data]  # trailing
    ''')
    changed = _function(tmp_path, "v3", """
        def work(record, data):
            return [x * 3 for x in data]
    """)
    assert code_fingerprint(base) == code_fingerprint(noisy)
    assert code_fingerprint(base) != code_fingerprint(changed)


def test_value_fingerprints_are_typed():
    assert fingerprint(1) != fingerprint(1.0) != fingerprint("1")
    assert fingerprint({"a": [1, 2]}) == fingerprint({"a": [1, 2]})
    assert fingerprint({1, 2, 3}) == fingerprint({3, 2, 1})
