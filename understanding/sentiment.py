"""Sentiment (negative/neutral/positive) and anger, frustration, urgency for German and English.

`analyze_sentiment(text)` runs the trained model shipped in `understanding/data/sentiment_model/`
(loaded once, on first use; see `understanding.sentiment_model` for how it is trained and calibrated,
and `glassdesk sentiment train` to rebuild it):

- `label` and `scores`: a linear model over TF-IDF words/char n-grams + lexicon signals, trained on
  German and English public corpora; `scores` are softmax probabilities with a temperature fitted on
  the dev splits, `label` their argmax with P(negative) up-weighted (also tuned on dev) so that
  negative messages are not missed. `compound` is P(positive) - P(negative).
- `anger`, `frustration`: the larger of the model's Platt-calibrated probability and the lexicon rule.
- `urgency`: rules only (urgency words, deadlines, "sofort", "NOW", repeated contact); there are no
  public urgency labels.
"""

from __future__ import annotations

import functools
from pathlib import Path

from understanding.sentiment_artifact import load_sentiment_model
from understanding.sentiment_model import SentimentModel
from understanding.sentiment_types import EmotionName, Sentiment, SentimentLabel, SentimentScores

__all__ = [
    "SentimentLabel",
    "SentimentScores",
    "Sentiment",
    "EmotionName",
    "analyze_sentiment",
    "shipped_model",
    "SHIPPED_MODEL_DIR",
]

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "data" / "sentiment_model"

_BLANK = Sentiment(
    label=SentimentLabel.NEUTRAL,
    compound=0.0,
    scores=SentimentScores(negative=0.0, neutral=1.0, positive=0.0),
    anger=0.0,
    frustration=0.0,
    urgency=0.0,
)


@functools.cache
def shipped_model() -> SentimentModel:
    """The model that ships with the package, read and checksum-verified on first use.
    Raises `ModelArtifactError` if the package's model files are missing or damaged."""
    return load_sentiment_model(SHIPPED_MODEL_DIR)


def analyze_sentiment(text: str, *, model: SentimentModel | None = None) -> Sentiment:
    """Sentiment and emotions of one message, with the shipped model unless `model` is given."""
    if not (text or "").strip():
        return _BLANK
    return (model or shipped_model()).predict(text)
