"""Evaluate a model on labelled examples; the numbers `intents eval --json` prints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from understanding.dataset import LabelledExample
from understanding.intents import IntentModel, IntentPrediction

__all__ = ["LabelScores", "EvalReport", "evaluate", "score_predictions"]


class LabelScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    support: int


class EvalReport(BaseModel):
    """Without an OOS label, `accuracy` is closed-set (best guess vs label, threshold ignored).
    With one, a row is correct when an OOS row is predicted out of scope, or an in-scope row is
    accepted with the right intent."""

    model_config = ConfigDict(frozen=True)

    accuracy: float
    macro_f1: float
    n: int
    per_label: dict[str, LabelScores]
    rejected_rate: float
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None
    oos_precision: float | None = None


def _r(x: float) -> float:
    return round(float(x), 4)


def score_predictions(
    gold: Sequence[str], predictions: Sequence[IntentPrediction], *, oos_label: str | None = None
) -> EvalReport:
    if oos_label is None:
        predicted = [p.best_guess for p in predictions]
    else:
        predicted = [oos_label if p.out_of_scope else p.best_guess for p in predictions]
    gold_a, pred_a = np.array(gold, dtype=object), np.array(predicted, dtype=object)
    per_label: dict[str, LabelScores] = {}
    for label in sorted(set(gold)):
        tp = int(np.sum((gold_a == label) & (pred_a == label)))
        n_pred, n_gold = int(np.sum(pred_a == label)), int(np.sum(gold_a == label))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScores(precision=_r(precision), recall=_r(recall), f1=_r(f1), support=n_gold)
    report = dict(
        accuracy=_r(float(np.mean(gold_a == pred_a))) if len(gold) else 0.0,
        macro_f1=_r(float(np.mean([s.f1 for s in per_label.values()]))) if per_label else 0.0,
        n=len(gold),
        per_label=per_label,
        rejected_rate=_r(float(np.mean([p.out_of_scope for p in predictions]))) if predictions else 0.0,
    )
    if oos_label is not None:
        is_oos = gold_a == oos_label
        said_oos = pred_a == oos_label
        report["in_scope_accuracy"] = _r(np.mean(gold_a[~is_oos] == pred_a[~is_oos])) if (~is_oos).any() else 0.0
        report["oos_recall"] = _r(np.mean(said_oos[is_oos])) if is_oos.any() else 0.0
        report["oos_precision"] = _r(np.mean(is_oos[said_oos])) if said_oos.any() else 0.0
    return EvalReport(**report)


def evaluate(model: IntentModel, examples: Sequence[LabelledExample], *, oos_label: str | None = None) -> EvalReport:
    predictions = model.predict_many([e.text for e in examples])
    return score_predictions([e.label for e in examples], predictions, oos_label=oos_label)
