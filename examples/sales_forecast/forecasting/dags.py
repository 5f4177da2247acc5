"""The forecasting pipeline: `python manage.py dag forecast`."""

from tether.exec import DAG

from .tasks import EvaluateTask, FeaturesTask, ForecastTask, GenerateTask, TrainTask


class ForecastDAG(DAG):
    label = "forecast"
    tasks = [GenerateTask, FeaturesTask, TrainTask, EvaluateTask, ForecastTask]
