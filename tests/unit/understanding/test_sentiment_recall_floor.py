"""The negative-recall floor is met with a statistical margin on every dev set, not just barely."""

from __future__ import annotations

import numpy as np
import pytest

from understanding.sentiment import shipped_model
from understanding.sentiment_calibration import NEGATIVE, NEUTRAL, tune_negative_weight, wilson_lower


def test_wilson_lower_bound() -> None:
    assert wilson_lower(90, 148, 0.0) == pytest.approx(90 / 148)
    assert wilson_lower(90, 148, 1.645) == pytest.approx(0.5409, abs=1e-3)  # below the observed 0.608
    assert wilson_lower(0, 0, 1.645) == 0.0
    # the same share on more rows is a tighter (higher) bound
    assert wilson_lower(66, 100, 1.645) < wilson_lower(660, 1000, 1.645) < 0.66


def _set(n_negative: int, p_negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Negatives whose P(negative) is spread over `p_negative`, against as many neutral rows whose
    P(negative) is spread over 0.05 to 0.45 (so every weight step up costs precision)."""
    neg = np.stack([p_negative, 1 - p_negative, np.zeros(n_negative)], axis=1)
    q = np.linspace(0.05, 0.45, n_negative)
    neu = np.stack([q, 1 - q, np.zeros(n_negative)], axis=1)
    probs = np.vstack([neg, neu])
    gold = np.array([NEGATIVE] * n_negative + [NEUTRAL] * n_negative)
    return probs, gold


def test_the_margin_asks_for_a_larger_weight_on_a_small_dev_set() -> None:
    dev = {"small": _set(40, np.linspace(0.1, 0.6, 40))}
    plain, _ = tune_negative_weight(dev, min_recall=0.6)
    margin, stats = tune_negative_weight(dev, min_recall=0.6, recall_z=1.645)
    assert margin > plain
    assert stats["dev_min_negative_recall_lower_bound"] >= 0.6
    assert stats["dev_min_negative_recall"] > stats["dev_min_negative_recall_lower_bound"]


def test_shipped_model_meets_the_floor_with_its_margin() -> None:
    meta = shipped_model().metadata
    assert meta.config.recall_z >= 1.6
    assert meta.dev_metrics["dev_min_negative_recall_lower_bound"] >= meta.config.min_negative_recall
    assert meta.negative_weight > 1.0


def test_regional_words_score_like_standard_german() -> None:
    model = shipped_model()
    a = model.predict("Ich finde die Rechnung für meine Haushaltsversicherung nicht. Kannst du sie schicken?")
    b = model.predict("Ich finde die Rechnung für meine Hausratversicherung nicht. Können Sie sie schicken?")
    assert a == b
