"""Errors of the experiments face; each derives from `tether.exceptions.TetherError`."""

from __future__ import annotations

from tether.exceptions import TetherError

__all__ = [
    "ExperimentError",
    "ExperimentNotFoundError",
    "ParametersError",
    "StageError",
    "InputSignatureError",
    "OutputSignatureError",
    "CachingError",
    "ExperimentFailedError",
]


class ExperimentError(TetherError):
    """An experiment cannot be set up or run as asked."""


class ExperimentNotFoundError(ExperimentError):
    """No experiment script or parameter file has the given name."""


class ParametersError(ExperimentError):
    """A parameter file or parameter set is malformed."""


class StageError(ExperimentError):
    """A stage is declared or called wrongly."""


class InputSignatureError(StageError):
    """A stage's declared inputs do not match its function's parameters."""


class OutputSignatureError(StageError):
    """A stage returned a different number of values than it declares outputs."""


class CachingError(ExperimentError):
    """A cacher cannot save or load an artifact."""


class ExperimentFailedError(ExperimentError):
    """The experiment raised; the run is recorded with status `error`."""

    exit_code = 1
