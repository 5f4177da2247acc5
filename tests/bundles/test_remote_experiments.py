"""An experiment's cached outputs are bundles: they push and pull like any other, lineage intact."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import tether.bundles as api
from tether.conf import settings
from tether.experiments import run_experiment
from tests.experiments.conftest import CHAIN, PARAMS


def test_experiment_bundles_are_pushed_and_pulled_with_lineage(tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    made = tmp_path / "made"
    experiments, params = f"experiments_{tag}", f"params_{tag}"
    for package, files in ((experiments, {"chain.py": CHAIN}), (params, {"base.py": PARAMS})):
        (made / package).mkdir(parents=True)
        (made / package / "__init__.py").write_text("")
        for name, text in files.items():
            (made / package / name).write_text(text)
    importlib.invalidate_caches()
    remote = str(tmp_path / "remote")
    sys.path.insert(0, str(made))
    try:
        with settings.override(
            BASE_DIR=str(made), STORAGE_BACKEND=None, STORAGE_ROOT=str(made / "data"), CONFIG_PATH=str(made),
            INSTALLED_MODULES=[], EXPERIMENTS_MODULE=experiments, PARAMS_MODULE=params, ALLOW_PICKLE=True,
        ):
            run_experiment("chain", ["base"], report=False)
            doubled = api.search("experiments", "chain.double.doubled")[0]
            made_lineage = [(r.depth, r.name, r.uuid) for r in api.lineage("experiments", doubled.uuid)]
            made_data = api.cat("experiments", "chain.load.data", tags={"record": doubled.tags["record"]}).read_bytes()
            api.remote("experiments", "results", remote)
            report = api.push("experiments", commit=False)
            assert report.pushed == []  # nothing committed yet
            for bundle in api.search("experiments"):
                bundle.commit()
            assert len(api.push("experiments").pushed) == len(api.search("experiments")) == 6
    finally:
        sys.path.remove(str(made))
        for name in list(sys.modules):
            if name.startswith((experiments, params)):
                del sys.modules[name]
    other = tmp_path / "other"
    (other / "configs").mkdir(parents=True)
    with settings.override(
        BASE_DIR=str(other), STORAGE_BACKEND=None, STORAGE_ROOT=str(other / "data"), CONFIG_PATH=str(other / "configs"),
        INSTALLED_MODULES=[], ALLOW_PICKLE=True,
    ):
        api.context("mirror")
        api.remote("mirror", "results", remote)
        assert len(api.pull("mirror").pulled) == 6
        pulled = api.get("mirror", uuid=doubled.uuid)
        assert pulled.tags == doubled.tags and pulled.committed
        assert [(r.depth, r.name, r.uuid) for r in api.lineage("mirror", doubled.uuid)] == made_lineage
        record = {"record": doubled.tags["record"]}
        assert api.cat("mirror", "chain.load.data", tags=record).read_bytes() == made_data
