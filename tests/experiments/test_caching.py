"""Cachers on their own, with a path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from tether.experiments import (
    FileReferenceCacher,
    JsonCacher,
    PandasCacher,
    PandasCsvCacher,
    PandasJsonCacher,
    ParquetCacher,
    PickleCacher,
)
from tether.bundles.blobs import digest_file
from tether.experiments.cache_store import _file_facts
from tether.files.storages import unnamed
from tether.experiments.caching import atomic_path
from tether.experiments.errors import CachingError


def test_pickle_and_json_round_trip(tmp_path):
    value = {"a": np.arange(3), "b": (1, 2)}
    cacher = PickleCacher(tmp_path / "x.pkl")
    assert cacher.save(value) == [str(tmp_path / "x.pkl")]
    loaded = cacher.load()
    assert loaded["b"] == (1, 2) and (loaded["a"] == np.arange(3)).all()
    assert cacher.check()
    json_cacher = JsonCacher(tmp_path / "y.json")
    json_cacher.save({"k": [1, 2.5, None]})
    assert json_cacher.load() == {"k": [1, 2.5, None]}
    with pytest.raises(CachingError, match="use PickleCacher"):
        json_cacher.save({"k": object()})
    assert json_cacher.load() == {"k": [1, 2.5, None]}


@pytest.mark.parametrize("cacher_class, name", [
    (PandasCacher, "f.pkl_df"), (PandasCsvCacher, "f.csv"), (PandasJsonCacher, "f.json"), (ParquetCacher, "f.parquet"),
])
def test_dataframe_cachers(tmp_path, cacher_class, name):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]}, index=[10, 20, 30])
    cacher = cacher_class(tmp_path / name)
    cacher.save(frame)
    pd.testing.assert_frame_equal(cacher.load(), frame, check_dtype=False)


def test_file_reference_cacher_tracks_the_files(tmp_path):
    data = tmp_path / "out.txt"
    data.write_text("hello")
    cacher = FileReferenceCacher(tmp_path / "ref.json")
    written = cacher.save(str(data))
    assert written == [str(tmp_path / "ref.json"), str(data)]
    assert cacher.load() == str(data)
    with pytest.raises(CachingError, match="does not exist|do\\(es\\) not exist"):
        cacher.save(str(tmp_path / "missing.txt"))


def test_a_failed_save_leaves_nothing_under_the_real_name(tmp_path):
    target = tmp_path / "bad.pkl"

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        PickleCacher(target).save(Unpicklable())
    assert not target.exists()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        with atomic_path(str(tmp_path / "x")) as temp:
            open(temp, "w").write("partial")
            raise ValueError
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("way", ["unnamed", "named", "no-proc"])
def test_a_save_replaces_the_file_and_leaves_no_other(tmp_path, monkeypatch, way):
    if way == "named":  # a file system without unnamed files
        monkeypatch.setattr(unnamed, "_O_TMPFILE", 0)
    elif way == "no-proc":  # unnamed files that cannot be linked (no /proc): copied to a named one
        real_link = os.link
        monkeypatch.setattr(unnamed.os, "link", lambda source, *a, **k: (
            _raise(OSError(2, "no /proc")) if source.startswith("/proc/") else real_link(source, *a, **k)))
    monkeypatch.setattr(unnamed, "_named_only", set())
    target = tmp_path / "sub" / "obj.pkl"
    cacher = PickleCacher(target)
    cacher.save({"v": 1})
    cacher.save({"v": list(range(100_000))})
    assert cacher.load() == {"v": list(range(100_000))}
    assert os.listdir(tmp_path / "sub") == ["obj.pkl"]
    size, mtime, digest = cacher.written[str(target)]
    assert (size, mtime, digest) == (target.stat().st_size, target.stat().st_mtime_ns, digest_file(target)[0])
    # A folder found unable to link unnamed files is written through temporary names from then on.
    assert (str(tmp_path / "sub") in unnamed._named_only) == (way == "no-proc")


def _raise(exc: BaseException):
    raise exc


def test_a_writer_killed_mid_save_leaves_no_file(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from tether.experiments.caching import write_hashed

        def dump(writer):
            writer.write(b"x" * 1000)
            os.kill(os.getpid(), signal.SIGKILL)

        write_hashed({str(tmp_path / "out.pkl")!r}, dump)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path) == []


def test_cacher_without_a_path_or_record_says_how_to_use_it():
    with pytest.raises(CachingError, match="give one, e.g. PickleCacher"):
        PickleCacher().save(1)


def test_missing_file_is_a_caching_error(tmp_path):
    with pytest.raises(CachingError, match="cannot read"):
        PickleCacher(tmp_path / "nope.pkl").load()


def test_pickle_cacher_knows_what_it_wrote_and_the_index_rechecks_a_changed_file(tmp_path):
    path = tmp_path / "obj.pkl"
    cacher = PickleCacher(path)
    cacher.save({"a": list(range(1000))})
    size, mtime, digest = cacher.written[str(path)]
    assert (size, mtime) == (path.stat().st_size, path.stat().st_mtime_ns)
    assert digest == digest_file(path)[0]
    assert _file_facts(str(path), cacher.written) == (size, mtime, digest)
    # Rewritten behind the cacher's back (same size, new content): the facts are read again.
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(mtime + 1_000_000, mtime + 1_000_000))
    assert _file_facts(str(path), cacher.written) == (size, mtime + 1_000_000, digest_file(path)[0])
    assert _file_facts(str(tmp_path), {}) is None and _file_facts(str(tmp_path / "nope"), {}) is None
