"""Scores of sentiment predictions: the numbers `glassdesk sentiment eval --json` and the benchmark print.

macro-F1 averages over the labels that occur in the gold data (XED-de has no neutral rows; predicting
neutral there counts as a miss, not as a fourth F1 of zero). The majority-class baseline always
answers the most frequent gold label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from understanding.sentiment_calibration import macro_f1, negative_recall
from understanding.sentiment_data import SentimentExample
from understanding.sentiment_model import LABELS, SentimentModel
from understanding.sentiment_types import SentimentLabel

__all__ = ["SentimentLabelScores", "SentimentReport", "score_sentiment", "evaluate_sentiment"]


class SentimentLabelScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    support: int


class SentimentReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    accuracy: float
    macro_f1: float
    negative_recall: float
    per_label: dict[str, SentimentLabelScores]
    majority_label: SentimentLabel
    majority_accuracy: float
    majority_macro_f1: float


def _r(x: float) -> float:
    return round(float(x), 4)


def score_sentiment(gold: Sequence[SentimentLabel], predicted: Sequence[SentimentLabel]) -> SentimentReport:
    if len(gold) != len(predicted) or not gold:
        raise ValueError(f"need as many predictions as gold labels, and at least one ({len(gold)} vs {len(predicted)})")
    index = {label: i for i, label in enumerate(LABELS)}
    g = np.array([index[label] for label in gold])
    p = np.array([index[label] for label in predicted])
    per_label = {}
    for label in sorted(set(gold)):
        i = index[label]
        tp = int(np.sum((g == i) & (p == i)))
        n_pred, n_gold = int(np.sum(p == i)), int(np.sum(g == i))
        precision, recall = (tp / n_pred if n_pred else 0.0), tp / n_gold
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label.value] = SentimentLabelScores(
            precision=_r(precision), recall=_r(recall), f1=_r(f1), support=n_gold
        )
    majority = Counter(gold).most_common(1)[0][0]
    constant = np.full(len(g), index[majority])
    return SentimentReport(
        n=len(g),
        accuracy=_r(np.mean(g == p)),
        macro_f1=_r(macro_f1(g, p)),
        negative_recall=_r(negative_recall(g, p)),
        per_label=per_label,
        majority_label=majority,
        majority_accuracy=_r(np.mean(g == constant)),
        majority_macro_f1=_r(macro_f1(g, constant)),
    )


def evaluate_sentiment(model: SentimentModel, examples: Sequence[SentimentExample]) -> SentimentReport:
    labelled = [e for e in examples if e.label is not None]
    gold = [e.label for e in labelled if e.label is not None]
    return score_sentiment(gold, model.predict_labels([e.text for e in labelled]))
