"""The learned candidate ranker: gradient-boosted trees over `FEATURES`, calibrated so that a
confidence of 0.9 is right about nine times in ten, and a cut-off per code system.

The model file is written by `medcoder learn` into the knowledge-base version it was trained
against (features depend on what that KB's index and search find), with what it was trained
on and how it measured under cross-validation.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from agent.ranker.features import FEATURES
from agent.ranker.trees import TREES_FILE, TreeEnsemble

MODEL_FILE = "ranker.pkl"
INFO_FILE = "ranker.json"


class SmoothedIsotonic:
    """Isotonic calibration drawn as a line through the middle of each of its steps.

    Plain isotonic regression is a staircase: hundreds of candidates share one calibrated
    value, and a cut-off falls on one side of a whole step or the other, so that one training
    kept codes the next one dropped (measured: codes at 0.328 around a cut-off of 0.28 or
    0.33). Joining the steps' midpoints keeps the calibration and the order of the trees'
    scores inside a step."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = x
        self.y = y

    @classmethod
    def fit(cls, raw: np.ndarray, labels: np.ndarray) -> SmoothedIsotonic:
        from sklearn.isotonic import IsotonicRegression  # only training needs sklearn here

        steps = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        fitted = steps.fit(raw, labels).predict(raw)
        centres: list[float] = []
        values: list[float] = []
        for value in np.unique(fitted):
            members = raw[fitted == value]
            centres.append(float((members.min() + members.max()) / 2))
            values.append(float(value))
        return cls(np.asarray(centres), np.asarray(values))

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return np.interp(raw, self.x, self.y)


class RankerError(RuntimeError):
    """A ranker file that cannot be used (missing, corrupt, trained on other features)."""


@dataclass
class Ranker:
    """Trees + isotonic calibration + per-system thresholds."""

    model: Any  # sklearn HistGradientBoostingClassifier; None when read from the arrays
    calibration: Any  # SmoothedIsotonic (or, in older files, IsotonicRegression) over raw
    thresholds: dict[str, float]
    features: tuple[str, ...] = FEATURES
    info: dict[str, Any] = field(default_factory=dict)
    trees: TreeEnsemble | None = None  # the model's trees as arrays (no scikit-learn needed)

    def confidence(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Calibrated probability that each row's code is right."""
        if not rows:
            return []
        features = np.asarray(rows, dtype=np.float64)
        if self.trees is not None:
            raw = self.trees.probability(features)
        else:
            # One chart is a small batch: OpenMP threads cost more than they save, and
            # under load (several requests at once) they spin against each other.
            with threadpool_limits(limits=1, user_api="openmp"):
                raw = self.model.predict_proba(features)[:, 1]
        return [float(p) for p in self.calibration.predict(raw)]

    def threshold(self, system: str, policy: str | None = None) -> float:
        """The cut-off chosen for charts coded under `policy` (when the training charts had
        enough of that convention), else the one for the code system."""
        if policy is not None and f"{policy}:{system}" in self.thresholds:
            return self.thresholds[f"{policy}:{system}"]
        return self.thresholds.get(system, 0.5)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{MODEL_FILE}.partial"
        with partial.open("wb") as handle:
            pickle.dump(
                {"model": self.model, "calibration": self.calibration, "features": self.features,
                 "thresholds": self.thresholds},
                handle,
            )  # fmt: skip
        partial.replace(directory / MODEL_FILE)
        info = {**self.info, "thresholds": self.thresholds, "features": list(self.features)}
        if self.trees is not None and isinstance(self.calibration, SmoothedIsotonic):
            self.trees.save(directory / TREES_FILE)
            # JSON floats read back exactly, so the calibration is the one trained.
            info["calibration"] = {
                "x": [float(v) for v in self.calibration.x],
                "y": [float(v) for v in self.calibration.y],
            }
        (directory / INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True))
        return directory / MODEL_FILE

    @classmethod
    def load(cls, directory: Path) -> Ranker:
        """The ranker saved in `directory`; RankerError when there is none or it is unusable.

        The file is a pickle written by this machine's own `medcoder learn`, inside
        MEDCODER_HOME; it is never read from anywhere a user uploads to."""
        path = directory / MODEL_FILE
        if not path.is_file():
            raise RankerError(f"no ranker at {path}; run `medcoder learn`")
        arrays = cls._load_arrays(directory)
        if arrays is not None:
            return arrays
        try:
            with path.open("rb") as handle:
                saved = pickle.load(handle)
            info = json.loads((directory / INFO_FILE).read_text())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError) as error:
            raise RankerError(
                f"{path}: unreadable ranker ({error}); run `medcoder learn`"
            ) from None
        if tuple(saved["features"]) != FEATURES:
            raise RankerError(
                f"{path}: trained on other features than this version computes; "
                "run `medcoder learn` again"
            )
        return cls(saved["model"], saved["calibration"], saved["thresholds"], FEATURES, info)

    @classmethod
    def _load_arrays(cls, directory: Path) -> Ranker | None:
        """The ranker from its trees' arrays and the calibration in its info file (written
        by `medcoder learn` since they exist); None for an older ranker (the pickle then)."""
        trees_path = directory / TREES_FILE
        if not trees_path.is_file():
            return None
        try:
            info = json.loads((directory / INFO_FILE).read_text())
            trees = TreeEnsemble.load(trees_path)
        except (OSError, ValueError, KeyError) as error:
            raise RankerError(
                f"{trees_path}: unreadable ranker ({error}); run `medcoder learn`"
            ) from None
        calibration = info.get("calibration")
        if not isinstance(calibration, dict):
            return None
        if tuple(info.get("features", ())) != FEATURES:
            raise RankerError(
                f"{trees_path}: trained on other features than this version computes; "
                "run `medcoder learn` again"
            )
        steps = SmoothedIsotonic(np.asarray(calibration["x"]), np.asarray(calibration["y"]))
        return cls(None, steps, info["thresholds"], FEATURES, info, trees)
