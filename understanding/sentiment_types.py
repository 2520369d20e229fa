"""The result of sentiment analysis: a 3-class label with its probabilities, and emotion scores.

Kept apart from the scorer so that the model, the lexicon and the public `understanding.sentiment`
module can all build and return it without importing each other.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict

__all__ = ["SentimentLabel", "SentimentScores", "Sentiment", "EmotionName"]


@enum.unique
class SentimentLabel(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@enum.unique
class EmotionName(enum.StrEnum):
    """The emotion scores a `Sentiment` carries (the keys of `Sentiment.emotions`)."""

    ANGER = "anger"
    FRUSTRATION = "frustration"
    URGENCY = "urgency"


class SentimentScores(BaseModel):
    """Probabilities of the three labels; they sum to 1."""

    model_config = ConfigDict(frozen=True)

    negative: float
    neutral: float
    positive: float


class Sentiment(BaseModel):
    """`compound` is in [-1, 1] (P(positive) - P(negative)); the emotion scores are each in [0, 1]."""

    model_config = ConfigDict(frozen=True)

    label: SentimentLabel
    compound: float
    scores: SentimentScores
    anger: float
    frustration: float
    urgency: float

    @property
    def emotions(self) -> dict[str, float]:
        return {
            EmotionName.ANGER.value: self.anger,
            EmotionName.FRUSTRATION.value: self.frustration,
            EmotionName.URGENCY.value: self.urgency,
        }
