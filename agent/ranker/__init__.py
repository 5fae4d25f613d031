"""The learned candidate ranker: features per candidate code, the calibrated model, training.

Other packages import from here only."""

from agent.ranker.features import FEATURES, CodeFinding, feature_rows, gather
from agent.ranker.model import Ranker, RankerError
from agent.ranker.training import (
    TrainingChart,
    coded_charts,
    fit_ranker,
)

__all__ = [
    "FEATURES",
    "CodeFinding",
    "Ranker",
    "RankerError",
    "TrainingChart",
    "coded_charts",
    "feature_rows",
    "fit_ranker",
    "gather",
]
