"""The demo project runs end to end, as `make demo` runs it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

DEMO = Path(__file__).resolve().parents[2] / "examples" / "sales_forecast"


def test_demo_forecast_dag_runs_and_retries(tmp_path):
    project = tmp_path / "sales_forecast"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("data", "__pycache__", ".tether"))

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=project, capture_output=True, text=True)

    done = manage("dag", "forecast", "--set", "forecast.horizon_days=7")
    assert done.returncode == 0, done.stderr
    (run_json,) = (project / "data" / "runs").rglob("run.json")
    record = json.loads(run_json.read_text())
    folder = run_json.parent
    forecast = pd.read_csv(folder / "forecast.csv")
    assert len(forecast) == 7 * 4
    assert forecast["units"].between(0, 1000).all()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["metrics"]["mape"][0]["value"] < 20
    again = manage("dag", "forecast", "--retry", record["run_folder"], "--from-task", "evaluate")
    assert again.returncode == 0, again.stderr
    summary = manage("forecast-summary", record["run_folder"])
    assert summary.stdout.count("store ") == 4
