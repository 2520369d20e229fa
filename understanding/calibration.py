"""Temperature-scaled softmax and the out-of-scope threshold, both tuned on validation data."""

from __future__ import annotations

import enum

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["softmax", "fit_temperature", "tune_threshold", "gibberish", "ThresholdMethod"]


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / max(temperature, 1e-6)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of the true labels (Guo et al., 2017)."""

    def nll(log_t: float) -> float:
        p = softmax(scores, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

    result = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


@enum.unique
class ThresholdMethod(enum.StrEnum):
    """Where the out-of-scope examples that place the threshold come from. Every method uses training or
    calibration data only, never the data a model is evaluated on."""

    RETENTION = "retention"  # none: keep in-scope validation accuracy at `retention` of its no-threshold value
    HELD_OUT_LABELS = "held_out_labels"  # validation rows of labels left out of a refit act as unseen intents
    OOS_EXAMPLES = "oos_examples"  # validation rows of the training data's out-of-scope label
    CALIBRATION_DATA = "calibration_data"  # a separate calibration set with out-of-scope rows


def tune_threshold(
    score: np.ndarray,
    correct: np.ndarray,
    *,
    is_oos: np.ndarray,
    predicted_oos_class: np.ndarray,
    retention: float,
) -> tuple[float, dict[str, float]]:
    """Pick the threshold below which a message is out of scope (`score` is higher for in-scope).

    A threshold is admissible when in-scope accuracy (a rejection counts as wrong) stays at least
    `retention` times the accuracy without any threshold. With out-of-scope examples, pick the
    admissible threshold that maximises the mean of in-scope accuracy and out-of-scope recall;
    without them, the highest admissible threshold. The lowest candidate rejects nothing.
    """
    score = np.asarray(score, dtype=np.float64)
    in_scope = ~is_oos
    top_quantile = 0.9 if is_oos.any() else 0.5
    quantiles = np.quantile(score, np.linspace(0, top_quantile, 181)) if len(score) else np.zeros(0)
    floor = float(np.floor(score.min()) - 1.0) if len(score) else 0.0
    grid = np.unique(np.concatenate([[floor], np.round(quantiles, 4)]))
    raw_acc = float(correct[in_scope].mean()) if in_scope.any() else 0.0
    best_t, best_value = floor, -1.0
    stats: dict[str, float] = {}
    for t in grid:
        rejected = (score < t) | predicted_oos_class
        acc = float((correct & ~rejected)[in_scope].mean()) if in_scope.any() else 0.0
        if acc < retention * raw_acc - 1e-9:
            continue
        if is_oos.any():
            recall = float(rejected[is_oos].mean())
            value = 0.5 * (acc + recall)
            if value > best_value + 1e-9:
                best_t, best_value = float(t), value
                stats = {"val_in_scope_accuracy": acc, "val_oos_recall": recall}
        elif t >= best_t:
            best_t = float(t)
            stats = {"val_in_scope_accuracy": acc}
    stats["val_in_scope_accuracy_without_threshold"] = raw_acc
    return best_t, stats


def gibberish(n: int, *, seed: int = 7) -> list[str]:
    """Synthetic nonsense (random letter strings) used to report how much obvious junk is rejected."""
    rng = np.random.default_rng(seed)
    letters = list("abcdefghijklmnopqrstuvwxyzäöü")
    out = []
    for _ in range(n):
        words = ["".join(rng.choice(letters, size=rng.integers(3, 9))) for _ in range(rng.integers(2, 7))]
        out.append(" ".join(words))
    return out
