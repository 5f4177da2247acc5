"""ExperimentParameters hashes, and parameter modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from tether.experiments import ExperimentParameters, parameters_hash
from tether.experiments.errors import ExperimentNotFoundError, ParametersError
from tether.experiments.params import hash_parts, load_parameter_sets


@dataclass
class Params(ExperimentParameters):
    value: object = 1
    other: int = 0


@dataclass
class Inner(ExperimentParameters):
    depth: int = 2


@dataclass
class Outer(ExperimentParameters):
    inner: Inner = field(default_factory=Inner)
    data: object = None


def helper_a(x):
    return x


def helper_b(x):
    return x


def test_hash_is_stable_and_ignores_name_hash_and_overwrite():
    first = Params(name="a", value=3)
    second = Params(name="b", value=3, overwrite=True, hash="whatever")
    assert parameters_hash(first) == parameters_hash(second) == first.compute_hash()
    assert len(parameters_hash(first)) == 32


@pytest.mark.parametrize("left, right", [(1, 1.0), (1, "1"), (1, True), (0, None), ("a", b"a"), ([1], (1,))])
def test_values_of_different_types_never_collide(left, right):
    assert parameters_hash(Params(value=left)) != parameters_hash(Params(value=right))


def test_large_arrays_that_repr_would_truncate_do_not_collide():
    # Curifactory hashed repr(), which shows "..." for large arrays: these two collided.
    left = np.zeros(10_000)
    right = np.zeros(10_000)
    right[5_000] = 1.0
    assert repr(left) == repr(right)
    assert parameters_hash(Params(value=left)) != parameters_hash(Params(value=right))
    assert parameters_hash(Params(value=np.zeros(10_000))) == parameters_hash(Params(value=left))
    assert parameters_hash(Params(value=np.zeros(4, dtype="int64"))) != parameters_hash(
        Params(value=np.zeros(4, dtype="float64"))
    )


def test_dataframes_hash_by_content():
    frame = pd.DataFrame({"a": range(5000), "b": 0.5})
    changed = frame.copy()
    changed.loc[2500, "b"] = 0.25
    assert parameters_hash(Params(value=frame)) == parameters_hash(Params(value=frame.copy()))
    assert parameters_hash(Params(value=frame)) != parameters_hash(Params(value=changed))


def test_dicts_are_hashed_in_key_order_and_nested_sets_by_their_own_rules():
    assert parameters_hash(Params(value={"x": 1, "y": 2})) == parameters_hash(Params(value={"y": 2, "x": 1}))
    assert parameters_hash(Outer(inner=Inner(depth=2))) != parameters_hash(Outer(inner=Inner(depth=3)))
    assert parameters_hash(Outer(inner=Inner(name="x"))) == parameters_hash(Outer(inner=Inner(name="y")))


def test_callables_hash_by_qualified_name():
    assert parameters_hash(Params(value=helper_a)) != parameters_hash(Params(value=helper_b))
    assert parameters_hash(Params(value=helper_a)) == parameters_hash(Params(value=helper_a))


def test_hash_representations_replace_or_drop_fields():
    plain = Params(value=[1, 2, 3], other=1)
    dropped = Params(value=[1, 2, 3], other=2, hash_representations={"other": None})
    assert "other" not in hash_parts(dropped)
    assert parameters_hash(dropped) != parameters_hash(plain)
    assert parameters_hash(dropped) == parameters_hash(
        Params(value=[1, 2, 3], other=99, hash_representations={"other": None})
    )
    by_length = Params(value=[1, 2, 3], hash_representations={"value": lambda params, value: len(value)})
    same_length = Params(value=[7, 8, 9], hash_representations={"value": lambda params, value: len(value)})
    assert parameters_hash(by_length) == parameters_hash(same_length)


def test_parameter_modules(exp_project):
    exp_project.param_file("grid", """
        from dataclasses import dataclass
        from tether.experiments import ExperimentParameters

        @dataclass
        class P(ExperimentParameters):
            lr: float = 0.1

        def get_params():
            return [P(name="slow", lr=0.01), P(name="fast", lr=0.5)]
    """)
    sets, by_file = load_parameter_sets(["grid"])
    assert [s.name for s in sets] == ["slow", "fast"]
    assert by_file == {"grid": [["slow", sets[0].hash], ["fast", sets[1].hash]]}
    only, _ = load_parameter_sets(["grid"], only=["fast"])
    assert [s.name for s in only] == ["fast"]
    with pytest.raises(ParametersError, match="no parameter set is named nope"):
        load_parameter_sets(["grid"], only=["nope"])


def test_bad_parameter_modules_say_what_to_do(exp_project):
    with pytest.raises(ExperimentNotFoundError, match="create .*missing.py with a get_params"):
        load_parameter_sets(["missing"])
    exp_project.param_file("empty", "x = 1\n")
    with pytest.raises(ParametersError, match="has no get_params"):
        load_parameter_sets(["empty"])
    exp_project.param_file("wrong", "def get_params():\n    return 3\n")
    with pytest.raises(ParametersError, match="returned a int"):
        load_parameter_sets(["wrong"])
    exp_project.param_file("items", "def get_params():\n    return [{'a': 1}]\n")
    with pytest.raises(ParametersError, match="ExperimentParameters dataclass"):
        load_parameter_sets(["items"])
