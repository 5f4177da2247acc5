"""A project with a small diamond DAG, and a parser for report pages."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

TASKS = """
import logging

import pandas as pd

from tether.exec import Task
from tether.files.data import data_manager
from tether.ops import default_mlops

log = logging.getLogger(__name__)


class Load(Task):
    def run(self):
        log.info("loading <raw> data")
        data_manager.write("raw.csv", pd.DataFrame({"a": [1, 2]}))


class Clean(Task):
    requires = (Load,)

    def run(self):
        default_mlops.log_metric("rows", 2)
        data_manager.write("clean.csv", pd.DataFrame({"a": [1]}))


class Features(Task):
    requires = (Load,)

    def run(self):
        pass


class Train(Task):
    requires = (Clean, Features)

    def run(self):
        default_mlops.log_param("model", "<gbm>")
        if __import__("os").environ.get("TRAIN_FAILS"):
            raise RuntimeError("diverged <badly>")
"""

DAGS = """
from tether.exec import DAG

from .tasks import Clean, Features, Load, Train


class ForecastDAG(DAG):
    label = "forecast"
    tasks = [Load, Clean, Features, Train]
"""


class Page(HTMLParser):
    """The parts of a report page tests look at: tags with attributes, and text by element id/key."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.info: dict[str, str] = {}
        self._key: str | None = None
        self._in_td = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr" and attributes.get("data-key"):
            self._key = attributes["data-key"]
        elif tag == "td" and self._key:
            self._in_td = True

    def handle_endtag(self, tag):
        if tag == "tr":
            self._key, self._in_td = None, False

    def handle_data(self, data):
        if self._in_td and self._key:
            self.info[self._key] = self.info.get(self._key, "") + data

    def all(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs for name, attrs in self.tags
            if name == tag and all(
                value in (attrs.get("class") or "").split() if key == "klass"
                else attrs.get(key.replace("_", "-")) == value
                for key, value in wanted.items()
            )
        ]


@pytest.fixture
def dag_project(project):
    """The `project` with module `forecast` holding a diamond DAG `forecast`."""
    project.add_module("forecast", tasks=TASKS, dags=DAGS)
    return project
