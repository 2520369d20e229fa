"""Calibration and decision tuning for the sentiment model, all fitted on development data only.

- 3-class sentiment: a softmax temperature (`understanding.calibration.fit_temperature`).
- anger, frustration: Platt scaling, P(y=1 | s) = sigmoid(a*s + b) on the head's raw score.
- the label rule: argmax of the probabilities with P(negative) multiplied by a weight >= 1, chosen so
  that negative recall reaches a floor on every development set while macro-F1 stays as high as it can.
  The floor applies to the lower end of a one-sided confidence interval of each set's recall (Wilson
  score, `recall_z` standard errors), not to the observed recall: a weight that only just reaches
  0.6 on 148 negative dev rows falls below it on the test rows about half of the time (it did:
  PotTS dev 0.608, test 0.549). A small dev set thus needs a higher observed recall than a large one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.optimize import minimize

__all__ = [
    "fit_platt",
    "sigmoid",
    "decide",
    "tune_negative_weight",
    "macro_f1",
    "negative_recall",
    "roc_auc",
    "wilson_lower",
    "NEGATIVE",
    "NEUTRAL",
    "POSITIVE",
]

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2  # column order of the sentiment probabilities


def sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))
    return out


def fit_platt(scores: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """(a, b) minimising the weighted log-loss of sigmoid(a*score + b) (Platt 1999, with his smoothed
    targets so that a perfectly separated set still gives finite parameters)."""
    y = np.asarray(y, dtype=bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    n_pos, n_neg = float(w[y].sum()), float(w[~y].sum())
    target = np.where(y, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    s = np.asarray(scores, dtype=float)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        p = sigmoid(params[0] * s + params[1])
        eps = 1e-12
        value = -np.sum(w * (target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps)))
        grad_z = w * (p - target)
        return float(value), np.array([np.sum(grad_z * s), np.sum(grad_z)])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def decide(probs: np.ndarray, negative_weight: float) -> np.ndarray:
    """The label index per row: argmax with P(negative) scaled by `negative_weight`."""
    scaled = np.array(probs, dtype=float, copy=True)
    scaled[:, NEGATIVE] *= negative_weight
    labels: np.ndarray = scaled.argmax(axis=1)
    return labels


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 over the labels present in `gold` (a prediction of an absent label only costs recall)."""
    scores = []
    for label in np.unique(gold):
        tp = float(np.sum((gold == label) & (predicted == label)))
        n_pred, n_gold = float(np.sum(predicted == label)), float(np.sum(gold == label))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def negative_recall(gold: np.ndarray, predicted: np.ndarray) -> float:
    is_negative = gold == NEGATIVE
    return float(np.mean(predicted[is_negative] == NEGATIVE)) if is_negative.any() else 0.0


def wilson_lower(successes: int, n: int, z: float) -> float:
    """The lower end of the Wilson score interval of a proportion (`z` standard errors; 0 when n = 0).
    z = 0 gives the observed proportion."""
    if n <= 0:
        return 0.0
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * float(np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)))
    return max(0.0, (centre - spread) / (1 + z2 / n))


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); 0.5 when one class is missing."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = np.asarray(scores)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start : start + count]] = start + (count + 1) / 2.0
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def tune_negative_weight(
    dev: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    min_recall: float,
    recall_z: float = 0.0,
    grid: tuple[float, ...] = tuple(np.round(np.arange(1.0, 4.01, 0.1), 2)),
) -> tuple[float, dict[str, float]]:
    """`dev` maps a set's name to (probabilities, gold label indices). Among the weights whose negative
    recall (its Wilson lower bound at `recall_z`; 0: the observed recall) is >= `min_recall` on every
    set, the one with the best mean macro-F1; if none reaches the floor everywhere, the one with the
    highest worst-set bound. Returns the weight and its dev figures."""
    best: tuple[bool, float, float] | None = None
    best_weight, best_stats = grid[0], {}
    for weight in grid:
        f1s, recalls, bounds = [], [], []
        for probs, gold in dev.values():
            predicted = decide(probs, weight)
            f1s.append(macro_f1(gold, predicted))
            recalls.append(negative_recall(gold, predicted))
            negatives = gold == NEGATIVE
            hits = int(np.sum(predicted[negatives] == NEGATIVE))
            bounds.append(wilson_lower(hits, int(negatives.sum()), recall_z) if negatives.any() else 1.0)
        feasible = min(bounds) >= min_recall
        key = (feasible, float(np.mean(f1s)) if feasible else min(bounds), float(np.mean(f1s)))
        if best is None or key > best:
            best, best_weight = key, float(weight)
            best_stats = {
                "dev_mean_macro_f1": float(np.mean(f1s)),
                "dev_min_negative_recall": min(recalls),
                "dev_min_negative_recall_lower_bound": min(bounds),
            }
    return best_weight, best_stats
