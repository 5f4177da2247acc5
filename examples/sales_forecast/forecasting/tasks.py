"""Tasks of the forecasting pipeline. Each reads its inputs from and writes its
outputs to the run folder, so any task can be retried on its own."""

import io

import numpy as np
import pandas as pd

from tether.conf import default_context
from tether.exec import Task
from tether.files.data import data_manager
from tether.files.storages import default_storage
from tether.ops import default_mlops

from .model import add_features, feature_columns, fit_ridge, predict


class GenerateTask(Task):
    """Synthetic daily unit sales per store: trend, weekly pattern, noise."""

    label = "generate"

    def run(self):
        params = default_context.data
        rng = np.random.default_rng(params.seed)
        dates = pd.date_range(params.start_date, periods=params.days, freq="D")
        frames = []
        for store in range(params.stores):
            level = rng.uniform(50, 150)
            weekly = 1 + 0.25 * np.sin(2 * np.pi * (dates.dayofweek + store) / 7)
            trend = 1 + 0.0005 * np.arange(len(dates))
            units = level * weekly * trend + rng.normal(0, 5, len(dates))
            frames.append(pd.DataFrame({"store": store, "date": dates.date.astype(str), "units": units.round(2)}))
        sales = pd.concat(frames, ignore_index=True)
        data_manager.write("sales.parquet", sales)
        self.logger.info("Generated %d rows for %d stores", len(sales), params.stores)


class FeaturesTask(Task):
    label = "features"

    def run(self):
        sales = data_manager.read("sales.parquet")
        params = default_context.features
        features = add_features(sales, list(params.lags), params.rolling_window)
        data_manager.write("features.parquet", features)


class TrainTask(Task):
    """Fit a ridge regression on everything but the holdout weeks."""

    label = "train"

    def run(self):
        features = data_manager.read("features.parquet")
        cutoff = sorted(features["date"].unique())[-default_context.train.holdout_days]
        train = features[features["date"] < cutoff]
        columns = feature_columns(features)
        coefficients = fit_ridge(train[columns].to_numpy(), train["units"].to_numpy(), default_context.train.alpha)
        stream = io.BytesIO()
        np.savez(stream, coefficients=coefficients, columns=np.array(columns))
        stream.seek(0)
        default_storage.touch(f"{default_context.meta.run_folder}/model.npz", stream)
        default_mlops.log_param("alpha", default_context.train.alpha)
        default_mlops.log_param("train_rows", len(train))


def load_model():
    with default_storage.open(f"{default_context.meta.run_folder}/model.npz") as handle:
        stored = np.load(io.BytesIO(handle.read()))
        return stored["coefficients"], list(stored["columns"])


class EvaluateTask(Task):
    """Score the model on the holdout weeks."""

    label = "evaluate"

    def run(self):
        features = data_manager.read("features.parquet")
        coefficients, columns = load_model()
        cutoff = sorted(features["date"].unique())[-default_context.train.holdout_days]
        holdout = features[features["date"] >= cutoff]
        error = predict(coefficients, holdout[columns].to_numpy()) - holdout["units"].to_numpy()
        rmse = float(np.sqrt(np.mean(error**2)))
        mape = float(np.mean(np.abs(error) / holdout["units"].to_numpy()) * 100)
        default_mlops.log_metric("rmse", rmse)
        default_mlops.log_metric("mape", mape)
        data_manager.write("evaluation.json", pd.DataFrame([{"rmse": rmse, "mape": mape}]))
        self.logger.info("Holdout RMSE %.2f, MAPE %.2f%%", rmse, mape)


class ForecastTask(Task):
    """Forecast each store day by day, feeding predictions back in as lags."""

    label = "forecast"

    def run(self):
        sales = data_manager.read("sales.parquet")
        coefficients, columns = load_model()
        params = default_context.features
        history = sales.copy()
        last = pd.Timestamp(history["date"].max())
        rows = []
        for step in range(1, default_context.forecast.horizon_days + 1):
            day = (last + pd.Timedelta(days=step)).date().isoformat()
            future = pd.DataFrame({"store": history["store"].unique(), "date": day, "units": np.nan})
            frame = add_features(pd.concat([history, future.fillna({"units": 0.0})]), list(params.lags), params.rolling_window)
            today = frame[frame["date"] == day]
            units = predict(coefficients, today[columns].to_numpy()).round(2)
            future["units"] = units
            history = pd.concat([history, future], ignore_index=True)
            rows.append(future)
        forecast = pd.concat(rows, ignore_index=True)
        data_manager.write("forecast.csv", forecast)
        self.logger.info("Forecast %d days for %d stores", default_context.forecast.horizon_days, forecast["store"].nunique())
