"""The ranker's gradient-boosted trees as plain arrays, scored with numpy.

Training uses scikit-learn's HistGradientBoostingClassifier; coding only walks its trees.
Importing scikit-learn (and the SciPy it pulls in) took about a second of every process's
start, so `medcoder learn` also writes the trees as arrays and coding reads those. The
export is checked against scikit-learn on the training rows before it is saved: the two
must give the same probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

TREES_FILE = "ranker.trees.npz"
# Node fields kept from scikit-learn's predictor nodes (numeric splits only).
_FIELDS = ("value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right")


class TreeExportError(ValueError):
    """A model the arrays cannot stand for (categorical splits, several classes, a
    difference from scikit-learn's own predictions)."""


class TreeEnsemble:
    def __init__(self, nodes: dict[str, np.ndarray], roots: np.ndarray, baseline: float) -> None:
        self.value = nodes["value"].astype(np.float64)
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.left = nodes["left"].astype(np.int64)
        self.right = nodes["right"].astype(np.int64)
        self.leaf = nodes["is_leaf"].astype(bool)
        self.roots = roots.astype(np.int64)
        self.baseline = float(baseline)

    @classmethod
    def from_sklearn(cls, model: Any) -> TreeEnsemble:
        predictors = model._predictors
        if any(len(per_iteration) != 1 for per_iteration in predictors):
            raise TreeExportError("only a binary classifier's trees can be exported")
        if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
            raise TreeExportError("categorical splits are not exported")
        columns: dict[str, list[np.ndarray]] = {name: [] for name in (*_FIELDS, "is_leaf")}
        roots, offset = [], 0
        for (predictor,) in predictors:
            nodes = predictor.nodes
            roots.append(offset)
            for name in _FIELDS:
                column = nodes[name].astype(
                    np.float64 if name in ("value", "num_threshold") else np.int64
                )
                if name in ("left", "right"):
                    column = column + offset  # child indexes into the stacked arrays
                columns[name].append(column)
            columns["is_leaf"].append(nodes["is_leaf"].astype(np.int64))
            offset += len(nodes)
        stacked = {name: np.concatenate(parts) for name, parts in columns.items()}
        baseline = float(np.asarray(model._baseline_prediction).ravel()[0])
        return cls(stacked, np.asarray(roots), baseline)

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The summed tree outputs plus the baseline (log-odds), tree by tree in training
        order, as scikit-learn sums them."""
        x = np.asarray(rows, dtype=np.float64)
        count = x.shape[0]
        node = np.broadcast_to(self.roots, (count, self.roots.size)).copy()
        row = np.arange(count)[:, None]
        while True:
            inner = ~self.leaf[node]
            if not inner.any():
                break
            where = node[inner]
            values = x[np.broadcast_to(row, node.shape)[inner], self.feature[where]]
            missing = np.isnan(values)
            go_left = np.where(missing, self.missing_left[where], values <= self.threshold[where])
            node[inner] = np.where(go_left, self.left[where], self.right[where])
        leaves = self.value[node]
        total = np.full(count, self.baseline)
        for tree in range(leaves.shape[1]):
            total += leaves[:, tree]
        return total

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """P(class 1), as the classifier's predict_proba(...)[:, 1]."""
        return 1.0 / (1.0 + np.exp(-self.raw(rows)))

    def save(self, path: Path) -> None:
        arrays = {
            "value": self.value,
            "feature_idx": self.feature,
            "num_threshold": self.threshold,
            "missing_go_to_left": self.missing_left.astype(np.int8),
            "left": self.left,
            "right": self.right,
            "is_leaf": self.leaf.astype(np.int8),
            "roots": self.roots,
            "baseline": np.asarray([self.baseline]),
        }
        partial = path.with_name(f".{path.name}.partial.npz")
        np.savez(partial, **arrays)  # type: ignore[arg-type]
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> TreeEnsemble:
        with np.load(path, allow_pickle=False) as saved:
            nodes = {name: saved[name] for name in (*_FIELDS, "is_leaf")}
            return cls(nodes, saved["roots"], float(saved["baseline"][0]))


def checked_export(model: Any, rows: np.ndarray) -> TreeEnsemble:
    """The trees as arrays, refused unless they give scikit-learn's probabilities on `rows`."""
    trees = TreeEnsemble.from_sklearn(model)
    expected = model.predict_proba(np.asarray(rows, dtype=np.float64))[:, 1]
    got = trees.probability(rows)
    worst = float(np.max(np.abs(expected - got))) if len(rows) else 0.0
    if worst > 1e-12:
        raise TreeExportError(f"the exported trees differ from scikit-learn by {worst:g}")
    return trees
