"""Run the sales-forecasting demo end to end and say where to look (`make demo`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "sales_forecast"


def manage(*args: str) -> str:
    """Run `python manage.py ARGS` in the demo project, echoing it; stop on failure."""
    print(f"\n$ python manage.py {' '.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "TETHER_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env,
                          stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        sys.exit(f"demo step failed: python manage.py {' '.join(args)} (exit {done.returncode})")
    return done.stdout


def run_id_of(output: str) -> str:
    """The run id in `Run <id> succeeded ...`."""
    line = next(line for line in output.splitlines() if line.startswith("Run "))
    return line.split()[1]


def main() -> None:
    manage("check")
    first = run_id_of(manage("dag", "forecast"))
    second = run_id_of(manage("dag", "forecast", "--set", "train.alpha=250", "--set", "features.lags=[1, 7]"))
    manage("runs", "ls", "-n", "5")
    manage("runs", "compare", first, second)
    record = json.loads(next((PROJECT / "data" / "runs").rglob(f"{second}/run.json")).read_text())
    manage("forecast-summary", record["run_folder"])
    folder = os.path.relpath(PROJECT / "data" / record["run_folder"])
    print(f"""
The demo ran the forecast DAG twice with different parameters. The second run is in
  {folder}/
    context.yaml   the exact parameters of the run
    run.json       status, timings, git commit, host, and the command that reproduces it
    logs/          one log per task
    forecast.csv   the forecast; metrics.json holds RMSE and MAPE
Next: cd {os.path.relpath(PROJECT)} && python manage.py runs show {second[:8]}
""")


if __name__ == "__main__":
    main()
