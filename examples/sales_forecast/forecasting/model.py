"""Features and a ridge regression on numpy: small enough to read in one sitting."""

import numpy as np
import pandas as pd


def add_features(sales: pd.DataFrame, lags: list[int], window: int) -> pd.DataFrame:
    """Lagged sales, a rolling mean and calendar columns, per store."""
    frame = sales.sort_values(["store", "date"]).copy()
    by_store = frame.groupby("store")["units"]
    for lag in lags:
        frame[f"lag_{lag}"] = by_store.shift(lag)
    frame["rolling_mean"] = by_store.transform(lambda s: s.shift(1).rolling(window).mean())
    dates = pd.to_datetime(frame["date"])
    for day in range(6):
        frame[f"dow_{day}"] = (dates.dt.dayofweek == day).astype(float)
    frame["trend"] = (dates - dates.min()).dt.days / 365.0
    return frame.dropna().reset_index(drop=True)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model's inputs, in a fixed order."""
    return [c for c in frame.columns if c.startswith(("lag_", "dow_")) or c in ("rolling_mean", "trend")]


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Coefficients (intercept first) of a ridge regression; the intercept is not penalised."""
    design = np.column_stack([np.ones(len(x)), x])
    penalty = alpha * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(design.T @ design + penalty, design.T @ y)


def predict(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Predictions of a fitted ridge model."""
    return coefficients[0] + x @ coefficients[1:]
