"""The examples of the Gluepy seed documents, with `gluepy` replaced by `tether`."""

import pickle
import shutil


def test_configuration_seed(project):
    project.write("configs/context.yaml", """
        # tether protected parameters
        meta:
         run_id:
         run_folder:
         created_at:

        # Custom user added parameters
        forecaster:
         start_date: 2024-01-01
    """)
    project.add_module("forecaster", tasks="""
        import pandas as pd
        from tether.conf import default_context
        from tether.files.data import data_manager
        from tether.exec import Task


        class ForecasterTask(Task):

            def run(self):
                print(default_context.forecaster.start_date)
                print(default_context.meta.run_id)
                print(default_context.meta.run_folder)
                # Writes to <run_folder>/file.csv
                data_manager.write("file.csv", pd.DataFrame({"foo": [1]}))
                # Writes to <STORAGE_ROOT>/file.csv
                data_manager.write("file.csv", pd.DataFrame({"foo": [2]}), root=True)
    """, dags="""
        from tether.exec import DAG
        from .tasks import ForecasterTask


        class ForecasterDAG(DAG):
            label = "forecaster"
            tasks = [ForecasterTask]
    """)
    result = project.run("dag", "forecaster")
    assert result.code == 0, result.err
    (record,) = project.runs()
    lines = result.out.splitlines()
    assert lines[:3] == ["2024-01-01", record["run_id"], record["run_folder"]]
    folder = project.run_folder(record)
    assert (folder / "file.csv").read_text().splitlines() == ["foo", "1"]
    assert (project.root / "data" / "file.csv").read_text().splitlines() == ["foo", "2"]
    assert "start_date: 2024-01-01" in (folder / "context.yaml").read_text()

    # Retry previous run: same run id and folder, and --from-task.
    retry = project.run("dag", "forecaster", "--retry", f"/{record['run_folder']}/")
    assert retry.code == 0, retry.err
    again = project.run("dag", "forecaster", "--from-task", "forecaster_task", "--retry", record["run_folder"])
    assert again.code == 0, again.err
    (only,) = project.runs()
    assert only["run_id"] == record["run_id"]
    assert len(only["attempts"]) == 3


def test_dags_seed_training_pipeline(project):
    project.add_module("training", tasks="""
        import io
        import os
        import pickle

        import numpy as np
        import pandas as pd
        from tether.conf import default_context
        from tether.exec import Task
        from tether.files.data import data_manager
        from tether.files.storages import default_storage


        class DataTask(Task):
            label = "data"

            def run(self):
                dates = pd.date_range("2024-01-01", periods=30).astype(str)
                df = pd.DataFrame({"date": dates, "article_id": 1, "units": np.arange(30.0)})
                data_manager.write("training.csv", df)


        class ForecastTrainingTask(Task):
            label = "training"

            def run(self):
                df: pd.DataFrame = data_manager.read("training.csv")
                df["date"] = df["date"].astype("category")
                # A least-squares trend stands in for the seed's XGBoost model.
                model = np.polyfit(np.arange(len(df)), df["units"], 1)
                stream = io.BytesIO()
                pickle.dump(model, stream)
                stream.seek(0)
                default_storage.touch(
                    os.path.join(default_context.tether.run_folder, "model.pkl"), stream
                )


        class ForecastTestTask(Task):
            label = "test"

            def run(self):
                model = pickle.loads(default_storage.read(default_context.meta.run_folder + "/model.pkl"))
                assert abs(model[0] - 1.0) < 1e-9


        class OutputFormatTask(Task):
            label = "output"

            def run(self):
                data_manager.write("output.parquet", data_manager.read("training.csv"))
    """, dags="""
        from tether.exec import DAG
        from .tasks import (
            DataTask, ForecastTrainingTask, ForecastTestTask, OutputFormatTask
        )


        class TrainingDAG(DAG):
            label = "training"
            tasks = [
                DataTask, ForecastTrainingTask, ForecastTestTask, OutputFormatTask
            ]
    """)
    result = project.run("dag", "training")
    assert result.code == 0, result.err
    (record,) = project.runs()
    assert record["plan"] == ["data", "training", "test", "output"]
    assert all(task["status"] == "success" for task in record["tasks"].values())
    folder = project.run_folder(record)
    slope, _ = pickle.loads((folder / "model.pkl").read_bytes())
    assert abs(slope - 1.0) < 1e-9
    assert (folder / "output.parquet").exists()
    assert sorted(p.name for p in (folder / "logs").iterdir()) == [
        "data.log", "output.log", "test.log", "training.log"
    ]


def test_pipelines_seed_with_run_py_and_executor_setting(project):
    project.add_module("preprocess", tasks="""
        from tether.exec import DAG, Task
        from tether.ops import default_mlops


        class ProcessProducts(Task):
            def run(self):
                \"\"\"Logic related to prepare product data\"\"\"
                self.logger.info("products ready")


        class ProcessPrices(Task):
            def run(self):
                \"\"\"Logic related to prepare price data\"\"\"
                default_mlops.log_metric("prices", 3)


        class ProcessTransactions(Task):
            def run(self):
                \"\"\"Logic related to prepare transaction data\"\"\"


        class PreprocessDAG(DAG):
            label = "preprocess"
            tasks = (
                ProcessProducts,
                ProcessPrices,
                ProcessTransactions,
            )
    """, dags="from .tasks import PreprocessDAG\n")
    settings = project.root / "configs" / "settings.py"
    settings.write_text(settings.read_text() + '\nEXECUTOR_BACKEND = "tether.exec.executors.LocalExecutor"\n')
    shutil.copy(project.root / "manage.py", project.root / "run.py")
    result = project.run("dag", "preprocess", entry="run.py")
    assert result.code == 0, result.err
    (record,) = project.runs()
    assert record["plan"] == ["process_products", "process_prices", "process_transactions"]
    folder = project.run_folder(record)
    assert "products ready" in (folder / "logs" / "process_products.log").read_text()
    assert '"prices"' in (folder / "metrics.json").read_text()
    assert record["reproduce"].startswith("python run.py dag preprocess")
