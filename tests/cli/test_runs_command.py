"""`tether runs ls|show|compare`, with metrics logged through default_mlops."""

import pytest


@pytest.fixture
def scored(project):
    project.write("configs/context.yaml", "model:\n  alpha: 0.5\n")
    project.add_module("score", tasks="""
        from tether.conf import default_context
        from tether.exec import Task
        from tether.ops import default_mlops


        class Score(Task):
            def run(self):
                alpha = default_context.model.alpha
                default_mlops.log_param("alpha", alpha)
                for step in range(3):
                    default_mlops.log_metric("loss", alpha / (step + 1), step=step)
                default_mlops.log_metric("rmse", alpha * 2)
    """, dags="""
        from tether.exec import DAG
        from .tasks import Score

        class ScoreDAG(DAG):
            tasks = [Score]
    """)
    assert project.run("dag", "score").code == 0
    assert project.run("dag", "score", "--set", "model.alpha=0.25").code == 0
    return project


def test_runs_ls_lists_newest_first(scored):
    result = scored.run("runs", "ls")
    assert result.code == 0, result.err
    records = scored.runs()
    lines = [line for line in result.out.splitlines() if "score" in line]
    assert len(lines) == 2
    assert records[-1]["run_id"] in lines[0]


def test_runs_show_by_id_prefix_and_folder(scored):
    record = scored.runs()[0]
    for ref in (record["run_id"][:8], record["run_folder"], record["run_id"]):
        result = scored.run("runs", "show", ref)
        assert result.code == 0, result.err
        assert record["run_id"] in result.out
        assert "score" in result.out and "success" in result.out


def test_runs_show_unknown_run(scored):
    result = scored.run("runs", "show", "nope")
    assert result.code == 2
    assert "no run with id 'nope'" in result.err


def test_runs_compare_shows_metrics_and_parameters(scored):
    first, second = scored.runs()
    result = scored.run("runs", "compare", first["run_id"], second["run_id"])
    assert result.code == 0, result.err
    rows = {line.split()[0] + " " + line.split()[1]: line.split()[2:] for line in result.out.splitlines()[1:] if line.strip()}
    assert rows["param alpha"] == ["0.5", "0.25"]
    assert rows["metric rmse"] == ["1.0", "0.5"]
    assert rows["metric loss"] == [str(0.5 / 3), str(0.25 / 3)]
    assert rows["context model.alpha"] == ["0.5", "0.25"]


def test_runs_are_indexed_in_the_catalog_and_rebuilt_from_run_folders(scored):
    catalog_file = scored.root / ".tether" / "catalog.sqlite3"
    assert catalog_file.exists()
    before = scored.run("runs", "ls").out
    for path in scored.root.joinpath(".tether").iterdir():
        path.unlink()
    empty = scored.run("runs", "ls")
    assert empty.code == 0 and "catalog rebuild" in empty.out
    rebuilt = scored.run("catalog", "rebuild")
    assert rebuilt.code == 0, rebuilt.err
    assert "Indexed 2 run(s)" in rebuilt.out
    assert scored.run("runs", "ls").out == before
    first, second = scored.runs()
    compare = scored.run("runs", "compare", first["run_id"], second["run_id"])
    assert "metric rmse" in compare.out


def test_runs_ls_filters(scored):
    assert "No runs recorded" in scored.run("runs", "ls", "--status", "failed").out
    assert len([l for l in scored.run("runs", "ls", "--dag", "score", "-n", "1").out.splitlines() if "score" in l]) == 1
