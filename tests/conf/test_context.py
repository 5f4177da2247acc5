from datetime import date, datetime, timezone

import pytest
import yaml

from tether.conf import default_context, default_context_manager
from tether.conf.context import (
    Context,
    DefaultContextManager,
    Patch,
    activate,
    deactivate,
    merge,
    parse_set,
)
from tether.exceptions import ContextError
from tether.testing import override_settings


@pytest.fixture
def config_dir(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    return folder


def manager(folder):
    return DefaultContextManager(config_path=str(folder))


def test_yaml_files_merge_in_sorted_order(config_dir):
    # Written in reverse order so that directory order and sorted order differ.
    (config_dir / "20_b.yaml").write_text("model: {depth: 3}\nname: b\n")
    (config_dir / "10_a.yml").write_text("model: {depth: 1, lr: 0.1}\nname: a\n")
    (config_dir / "notes.txt").write_text("ignored: true\n")
    context = manager(config_dir).create_context()
    assert context.model.depth == 3
    assert context.model.lr == 0.1
    assert context.name == "b"
    assert "ignored" not in context


def test_seed_example_dates_and_meta(config_dir):
    (config_dir / "config.yaml").write_text(
        "meta:\n run_id:\n run_folder:\n created_at:\n\nforecaster:\n start_date: 2024-01-01\n"
    )
    context = manager(config_dir).create_context()
    assert context.forecaster.start_date == date(2024, 1, 1)
    meta = context.meta
    assert len(meta.run_id) == 36
    assert meta.created_at.tzinfo is not None
    assert meta.run_folder == f"runs/{meta.created_at:%Y/%m/%d}/{meta.run_id}"
    assert not meta.run_folder.startswith("/")
    # The seed documents read run metadata as `default_context.gluepy.run_folder`.
    assert context.tether.run_folder == meta.run_folder


def test_run_folder_is_dated_in_utc(config_dir):
    created = datetime(2024, 3, 9, 23, 30, tzinfo=timezone.utc)
    context = manager(config_dir).create_context(run_id="abc", created_at=created)
    assert context.meta.run_folder == "runs/2024/03/09/abc"


def test_context_is_frozen_all_the_way_down(config_dir):
    (config_dir / "c.yaml").write_text("a: {b: [1, 2]}\n")
    context = manager(config_dir).create_context()
    with pytest.raises(ContextError, match="frozen"):
        context.a = 1
    with pytest.raises(ContextError, match="frozen"):
        context.a.b.append(3)
    assert context.a.b == [1, 2]
    plain = context.to_dict()
    plain["a"]["b"].append(3)
    assert context.a.b == [1, 2]


def test_patches_then_sets_then_meta(config_dir):
    (config_dir / "c.yaml").write_text("train: {epochs: 1, lr: 0.1}\nfeatures: [a, b]\n")
    patch = Patch.from_yaml("train: {epochs: 5}\nfeatures: [c]\nmeta: {run_id: sneaky}\n", "patch.yaml")
    context = manager(config_dir).create_context(
        patches=[patch], sets=["train.lr=0.5", "train.name=fast", "when=2024-02-01"]
    )
    assert context.train.epochs == 5
    assert context.train.lr == 0.5
    assert context.train.name == "fast"
    assert context.when == date(2024, 2, 1)
    assert context.features == ["c"]  # lists replace
    assert context.meta.run_id != "sneaky"  # meta is protected


def test_type_clash_names_the_key(config_dir):
    (config_dir / "c.yaml").write_text("train: {epochs: 1}\n")
    with pytest.raises(ContextError, match=r"'train'.*--set train=3.*mapping"):
        manager(config_dir).create_context(sets=["train=3"])


def test_malformed_yaml_names_file_and_line(config_dir):
    (config_dir / "bad.yaml").write_text("a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ContextError, match=r"bad.yaml:\d+: malformed YAML"):
        manager(config_dir).create_context()


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1", "meta.run_id=x", "tether.run_folder=x"])
def test_malformed_set_is_refused(bad):
    with pytest.raises(ContextError):
        parse_set(bad)


def test_set_values_are_yaml_typed():
    assert parse_set("a.b=3") == {"a": {"b": 3}}
    assert parse_set("a=true") == {"a": True}
    assert parse_set("a=[1, 2]") == {"a": [1, 2]}
    assert parse_set("a='007'") == {"a": "007"}
    assert parse_set("a=") == {"a": ""}


def test_merge_is_recursive_and_does_not_mutate():
    base = {"a": {"b": 1, "c": 2}}
    merged = merge(base, {"a": {"c": 3}}, "x")
    assert merged == {"a": {"b": 1, "c": 3}}
    assert base == {"a": {"b": 1, "c": 2}}


def test_retry_base_keeps_meta_and_applies_patches(config_dir):
    first = manager(config_dir).create_context(sets=["x=1"])
    written = yaml.safe_load(first.to_yaml())
    again = manager(config_dir).create_context(base=written, sets=["x=2"])
    assert again.meta.run_id == first.meta.run_id
    assert again.meta.run_folder == first.meta.run_folder
    assert again.meta.created_at == first.meta.created_at
    assert again.x == 2


def test_default_context_follows_the_active_run(tmp_path):
    with override_settings(BASE_DIR=str(tmp_path)):
        ambient = default_context.meta.run_id
        assert default_context.meta.run_id == ambient  # stable outside a run
        first = default_context_manager.create_context()
        token = activate(first)
        assert default_context.meta.run_id == first.meta.run_id
        deactivate(token)
        second = default_context_manager.create_context()
        token = activate(second)
        assert default_context.meta.run_id == second.meta.run_id != first.meta.run_id
        deactivate(token)
        assert default_context.meta.run_id == ambient


def test_missing_key_error_says_how_to_add_it():
    with pytest.raises(AttributeError, match="--set"):
        Context({"a": 1}).b


def test_context_yaml_round_trip_keeps_types(config_dir):
    (config_dir / "c.yaml").write_text("d: 2024-01-01\nn: null\nf: 1.5\ns: '1'\n")
    context = manager(config_dir).create_context()
    again = Context(yaml.safe_load(context.to_yaml()))
    assert again.to_dict() == context.to_dict()


def test_mask_secrets_hides_values_under_secret_keys():
    from tether.conf.context import MASK, mask_secrets

    data = {"db": {"password": "hunter2", "host": "h"}, "api_token": "t", "items": [{"secret": 1}], "none_token": None}
    masked = mask_secrets(data, ["PASSWORD", "TOKEN", "SECRET"])
    assert masked == {"db": {"password": MASK, "host": "h"}, "api_token": MASK, "items": [{"secret": MASK}], "none_token": None}
    assert data["db"]["password"] == "hunter2"
