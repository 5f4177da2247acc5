"""Experiments (Curifactory's face): parameter sets, cached stages, the registry, full stores, reports."""

from tether.experiments.caching import (
    Cacheable,
    FileReferenceCacher,
    JsonCacher,
    PandasCacher,
    PandasCsvCacher,
    PandasJsonCacher,
    ParquetCacher,
    PathRef,
    PickleCacher,
)
from tether.experiments.errors import (
    CachingError,
    ExperimentError,
    ExperimentFailedError,
    ExperimentNotFoundError,
    InputSignatureError,
    OutputSignatureError,
    ParametersError,
    StageError,
)
from tether.experiments.experiment import run_experiment
from tether.experiments.lazy import Lazy
from tether.experiments.manager import ArtifactManager
from tether.experiments.params import ExperimentParameters, parameters_hash
from tether.experiments.procedure import Procedure
from tether.experiments.record import ArtifactRepresentation, Record
from tether.experiments.reporting import (
    DFReporter,
    FigureReporter,
    HTMLReporter,
    ImageReporter,
    JsonReporter,
    LatexTableReporter,
    LinePlotReporter,
    Reportable,
)
from tether.experiments.stage import aggregate, stage

__all__ = [
    "ArtifactManager",
    "Record",
    "ArtifactRepresentation",
    "ExperimentParameters",
    "parameters_hash",
    "stage",
    "aggregate",
    "Lazy",
    "Procedure",
    "run_experiment",
    "Cacheable",
    "PickleCacher",
    "JsonCacher",
    "PandasCacher",
    "PandasCsvCacher",
    "PandasJsonCacher",
    "ParquetCacher",
    "FileReferenceCacher",
    "PathRef",
    "Reportable",
    "HTMLReporter",
    "DFReporter",
    "JsonReporter",
    "FigureReporter",
    "LinePlotReporter",
    "ImageReporter",
    "LatexTableReporter",
    "ExperimentError",
    "ExperimentNotFoundError",
    "ExperimentFailedError",
    "ParametersError",
    "StageError",
    "InputSignatureError",
    "OutputSignatureError",
    "CachingError",
]
