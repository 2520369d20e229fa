"""`understand(text, model=...)`: everything the turn flow needs to know about one message."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from understanding.handoff import asked_for_human
from understanding.intents import IntentModel
from understanding.language import LanguageDetector, detect_language
from understanding.pii import PiiKind, Redactor, redact
from understanding.sentiment import SentimentLabel, SentimentScores, analyze_sentiment

__all__ = ["Understanding", "understand"]


class Understanding(BaseModel):
    """Safe to log and to pass as a flow parameter: holds PII kinds, never PII values."""

    model_config = ConfigDict(frozen=True)

    intent: str | None
    confidence: float
    out_of_scope: bool
    language: str
    language_confidence: float
    sentiment: SentimentLabel
    sentiment_scores: SentimentScores
    emotions: dict[str, float]
    pii_kinds: tuple[PiiKind, ...]
    asked_for_human: bool


def understand(text: str, *, model: IntentModel, language_detector: LanguageDetector | None = None,
               redactor: Redactor | None = None) -> Understanding:
    prediction = model.predict(text)
    language = language_detector.detect(text) if language_detector else detect_language(text)
    sentiment = analyze_sentiment(text)
    found = redactor.redact(text) if redactor else redact(text)
    return Understanding(
        intent=prediction.intent,
        confidence=prediction.confidence,
        out_of_scope=prediction.out_of_scope,
        language=language.code,
        language_confidence=language.confidence,
        sentiment=sentiment.label,
        sentiment_scores=sentiment.scores,
        emotions=sentiment.emotions,
        pii_kinds=tuple(found.kinds),
        asked_for_human=asked_for_human(text),
    )
