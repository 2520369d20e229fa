"""Fake understanders for the fairness tests: a neutral one, and one that treats a cue differently."""

from __future__ import annotations

import re
from typing import Any

from services.fairness import Understander
from understanding import SentimentLabel, SentimentScores, Understanding

__all__ = ["NeutralUnderstander", "BiasedUnderstander"]


class NeutralUnderstander:
    """Every message is a confident, calm order-status question (the language falls back to the template's)."""

    def understand(self, text: str) -> Understanding:
        return Understanding(
            intent="order_status",
            confidence=0.92,
            out_of_scope=False,
            language="unknown",
            language_confidence=0.0,
            sentiment=SentimentLabel.NEUTRAL,
            sentiment_scores=SentimentScores(negative=0.1, neutral=0.8, positive=0.1),
            emotions={"anger": 0.05, "frustration": 0.05, "urgency": 0.0},
            pii_kinds=(),
            asked_for_human=False,
        )


class BiasedUnderstander:
    """``inner``, except that a message matching ``cue`` gets ``change`` (a classifier with a bias)."""

    def __init__(self, inner: Understander, cue: str, **change: Any) -> None:
        self._inner = inner
        self._cue = re.compile(cue)
        self._change = change

    def understand(self, text: str) -> Understanding:
        u = self._inner.understand(text)
        if not self._cue.search(text):
            return u
        emotions = {**u.emotions, **self._change.get("emotions", {})}
        return u.model_copy(update={**self._change, "emotions": emotions})
