"""The bundle commands end to end: `context`, `switch`, `ls`, `cat`, `add`, `commit`, `rm`, `lineage`, `bundle show`."""

import json
import re
from pathlib import Path

import pytest

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Bundles with data of several kinds and lineage table <- summary <- model,
# made through the Python API (the CLI makes only file bundles).
MAKE_BUNDLES = """
import json, os, sys
os.environ.setdefault("TETHER_SETTINGS_MODULE", "configs.settings")
sys.path.insert(0, os.getcwd())
import pandas as pd
import tether.bundles as api

table = api.Bundle(None, name="table", data=pd.DataFrame({"x": range(100), "y": [2 * i for i in range(100)]}),
                   tags={"stage": "raw"})
summary = api.Bundle(None, name="summary", data={"rows": 100, "ok": True}, dependencies={"source": table.uuid},
                     params={"alpha": 0.5}, vc_info=("git@host:demo", "abc123", "main"), code_method="demo.summarize")
model = api.Bundle(None, name="model", data=[1, (2, 3)], dependencies={"train": summary.uuid})
print(json.dumps({"table": table.uuid, "summary": summary.uuid, "model": model.uuid}))
"""

HELP_CHECK = """
import sys
from tether.cli.main import main

for args in (["--help"], ["context", "--help"], ["switch", "--help"], ["ls", "--help"], ["cat", "--help"],
             ["add", "--help"], ["commit", "--help"], ["rm", "--help"], ["lineage", "--help"],
             ["bundle", "--help"], ["bundle", "show", "--help"]):
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
print("LOADED", [name for name in ("pandas", "dask", "tether.bundles") if name in sys.modules])
"""


def ok(result):
    assert result.code == 0, (result.out, result.err)
    return result.out


def uuid_of(output: str) -> str:
    found = UUID.search(output)
    assert found, output
    return found.group(0)


def listed(output: str) -> list[list[str]]:
    """The rows of `tether ls` under its header, split into columns."""
    lines = output.strip().splitlines()
    assert lines[0].split()[:2] == ["NAME", "UUID"], output
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def first_cell(line: str) -> str:
    """A lineage line up to the first gap after its indentation and link."""
    return re.split(r"(?<=\S)\s{2}", line)[0]


def assert_clean_error(result, *fragments):
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def made(project):
    """A project holding the bundles of MAKE_BUNDLES; returns (project, {name: uuid})."""
    project.write("make_bundles.py", MAKE_BUNDLES)
    result = project.run(entry="make_bundles.py")
    assert result.code == 0, result.err
    return project, json.loads(result.out.strip().splitlines()[-1])


def test_help_lists_the_commands_and_imports_no_data_library(project):
    out = ok(project.run("--help"))
    for name in ("context", "switch", "ls", "cat", "add", "commit", "rm", "lineage", "bundle"):
        assert re.search(rf"^\s+{name}\s+\S", out, re.M), name
    project.write("help_check.py", HELP_CHECK)
    out = ok(project.run(entry="help_check.py"))
    assert "LOADED []" in out, out


def test_context_lists_creates_switches_and_deletes(project):
    assert ok(project.run("context")).splitlines() == ["* default"]
    assert "Created data context 'analysis'" in ok(project.run("context", "analysis"))
    assert "already exists" in ok(project.run("context", "analysis"))
    ok(project.run("switch", "analysis"))
    assert ok(project.run("context")).splitlines() == ["* analysis", "  default"]

    (project.root / "a.txt").write_text("alpha\n")
    added = ok(project.run("add", "notes", "a.txt"))
    assert "data context 'analysis'" in added
    assert [row[0] for row in listed(ok(project.run("ls")))] == ["notes"]
    assert "No bundles match in data context 'default'" in ok(project.run("ls", "-c", "default"))

    ok(project.run("commit", "notes"))
    assert_clean_error(project.run("context", "-d", "analysis"), "committed", "force")
    assert "Deleted data context 'analysis'" in ok(project.run("context", "-d", "analysis", "--force"))
    # Deleting the current context makes `default` current again.
    assert ok(project.run("context")).splitlines() == ["* default"]


def test_add_ls_cat_commit(project):
    (project.root / "x.csv").write_text("a,b\n1,2\n")
    for sub in ("s1", "s2"):  # same file name in two subfolders: both kept
        (project.root / "folder" / sub).mkdir(parents=True)
        (project.root / "folder" / sub / "f.txt").write_text(sub)
    first = uuid_of(ok(project.run("add", "raw", "x.csv", "-t", "source:local", "-t", "url:http://x")))
    second = uuid_of(ok(project.run("add", "raw", "folder")))
    other = uuid_of(ok(project.run("add", "raw.v2", "x.csv")))

    rows = listed(ok(project.run("ls")))
    assert [row[1] for row in rows] == [other, second, first]  # newest first
    assert all(row[3] == "no" for row in rows)
    assert [row[1] for row in listed(ok(project.run("ls", "raw")))] == [second, first]  # exact name
    assert [row[1] for row in listed(ok(project.run("ls", "raw*")))] == [other, second, first]
    assert [row[1] for row in listed(ok(project.run("ls", "raw*", "--latest")))] == [other, second]
    assert [row[1] for row in listed(ok(project.run("ls", "-n", "1")))] == [other]
    tagged = listed(ok(project.run("ls", "-v", "-t", "url:http://x")))
    assert [(row[0], row[1], row[5], row[6]) for row in tagged] == [("raw", first, "file", "source:local,url:http://x")]
    assert "No bundles match" in ok(project.run("ls", "-t", "source:s3"))

    path = Path(ok(project.run("cat", "raw", "--uuid", first)).strip())
    assert path.read_text() == "a,b\n1,2\n"
    paths = ok(project.run("cat", "raw")).split()
    assert sorted(Path(p).read_text() for p in paths) == ["s1", "s2"]

    assert first in ok(project.run("commit", "raw", "--uuid", first))
    assert [row[1] for row in listed(ok(project.run("ls", "--committed")))] == [first]
    assert [row[1] for row in listed(ok(project.run("ls", "--uncommitted")))] == [other, second]

    shown = ok(project.run("bundle", "show", first))
    for fragment in (f"uuid             {first}", "name             raw", "committed        yes",
                     "code ref         tether.bundles.add", "source: local", "url: http://x", "x.csv  8 bytes"):
        assert fragment in shown, shown
    assert second in ok(project.run("bundle", "show", "raw"))  # a name: the newest bundle


def test_cat_lineage_and_show_of_api_bundles(made):
    project, uuids = made
    table = ok(project.run("cat", "table", "--max-rows", "6"))
    assert "[100 rows x 2 columns; showing 6" in table
    assert "99  99  198" in table and "50  50  100" not in table
    assert json.loads(ok(project.run("cat", "summary"))) == {"rows": 100, "ok": True}
    assert ok(project.run("cat", "model")).strip() == "[1, (2, 3)]"

    tree = ok(project.run("lineage", uuids["model"])).splitlines()
    assert [first_cell(line) for line in tree] == ["model", "  train <- summary", "    source <- table"]
    assert uuids["table"] in tree[2] and "code demo.summarize" in tree[1]
    assert len(ok(project.run("lineage", "model", "--depth", "1")).splitlines()) == 2
    down = ok(project.run("lineage", uuids["table"], "--down")).splitlines()
    assert [first_cell(line) for line in down] == ["table", "  (as source) summary", "    (as train) model"]

    shown = ok(project.run("bundle", "show", "summary"))
    for fragment in ("git              git@host:demo abc123 main", "alpha: 0.5",
                     f"source: {uuids['table']} (table)", "presentation     dict"):
        assert fragment in shown, shown
    details = json.loads(ok(project.run("bundle", "show", uuids["summary"], "--json")))
    assert details["dependencies"] == {"source": {"uuid": uuids["table"], "name": "table"}}
    assert details["params"] == {"alpha": 0.5} and details["committed"] is False


def test_rm(project):
    (project.root / "x.txt").write_text("x")
    made = [uuid_of(ok(project.run("add", "x", "x.txt"))) for _ in range(4)]  # oldest first
    assert made[3] in ok(project.run("rm", "x"))  # the newest
    assert set(UUID.findall(ok(project.run("rm", "x", "--old-only")))) == {made[0], made[1]}
    assert "Nothing to remove" in ok(project.run("rm", "x", "--old-only"))
    ok(project.run("commit", "x"))
    assert_clean_error(project.run("rm", "x", "--all"), "committed", "force")
    assert made[2] in ok(project.run("rm", "x", "--all", "--force"))
    assert "No bundles match" in ok(project.run("ls"))
    assert_clean_error(project.run("rm", "x"), "no bundle with name 'x'")


def test_bad_input_is_one_line_and_exit_2(project):
    (project.root / "x.txt").write_text("x")
    uuid = uuid_of(ok(project.run("add", "x", "x.txt")))
    missing = "00000000-0000-4000-8000-000000000000"
    cases = [
        (("ls", "-t", "nocolon"), "malformed tag 'nocolon'"),
        (("ls", "-t", ":value"), "malformed tag ':value'"),
        (("add", "y", "x.txt", "-t", "oops"), "malformed tag 'oops'"),
        (("ls", "-t", "a:1", "-t", "a:2"), "tag 'a' is given twice"),
        (("ls", "--after", "yesterday"), "is not a date"),
        (("ls", "-c", "nope"), "no data context 'nope'"),
        (("cat", "x", "-c", "nope"), "no data context 'nope'"),
        (("switch", "nope"), "no data context 'nope'"),
        (("context", "bad name"), "cannot name a data context"),
        (("context", "-d", "nope"), "no data context 'nope'"),
        (("cat", "nope"), "no bundle with name or uuid 'nope'"),
        (("cat", "--uuid", missing), f"no bundle with uuid {missing}"),
        (("cat",), "give the NAME"),
        (("commit", "nope"), "'nope'"),
        (("rm",), "give the NAME"),
        (("rm", "x", "--all", "--old-only"), "exclude each other"),
        (("rm", "--uuid", missing), f"no bundle with uuid {missing}"),
        (("add", "y", "missing.txt"), "missing.txt"),
        (("lineage", "nope"), "no bundle with name or uuid 'nope'"),
        (("lineage", missing), missing),
        (("bundle", "show", "nope"), "no bundle with name or uuid 'nope'"),
    ]
    for args, fragment in cases:
        result = project.run(*args)
        try:
            assert_clean_error(result, fragment)
        except AssertionError as exc:
            raise AssertionError(f"tether {' '.join(args)}: {exc}") from None
    # Nothing above changed the bundles.
    assert [row[1] for row in listed(ok(project.run("ls")))] == [uuid]


def test_uuid_prefixes_name_bundles(project):
    project.write("data.txt", "hello\n")
    added = project.run("add", "greeting", "data.txt")
    assert added.code == 0, added.err
    uuid = added.out.split()[3]
    for command in (
        ("bundle", "show", uuid[:10]),
        ("lineage", uuid[:10]),
        ("cat", "--uuid", uuid[:10]),
        ("cat", uuid[:10]),
        ("cat", uuid),
    ):
        result = project.run(*command)
        assert result.code == 0, (command, result.err)
        assert uuid in result.out or "data.txt" in result.out, command
    missing = project.run("cat", "0000aaaa")
    assert missing.code == 2 and "no bundle with name or uuid '0000aaaa'" in missing.err
