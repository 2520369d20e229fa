"""`understand(text, model=...)`: everything the turn flow needs to know about one message.

`understand_with_redaction` also returns the redaction it computed for the PII kinds, so a caller that
needs the redacted text does not redact twice. The redaction (its mapping holds the PII values) is
returned beside the `Understanding`, never inside it: an `Understanding` stays safe to log."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from understanding.handoff import asked_for_human
from understanding.intents import IntentModel
from understanding.language import LanguageDetector, detect_language
from understanding.neutral import language_text, model_text
from understanding.pii import PiiKind, RedactedText, Redactor, redact
from understanding.sentiment import SentimentLabel, SentimentScores, analyze_sentiment

__all__ = ["Understanding", "understand", "understand_with_redaction"]


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


def understand(
    text: str,
    *,
    model: IntentModel,
    language_detector: LanguageDetector | None = None,
    redactor: Redactor | None = None,
) -> Understanding:
    return understand_with_redaction(text, model=model, language_detector=language_detector, redactor=redactor)[0]


def understand_with_redaction(
    text: str,
    *,
    model: IntentModel,
    language_detector: LanguageDetector | None = None,
    redactor: Redactor | None = None,
) -> tuple[Understanding, RedactedText]:
    """`understand` plus the redaction of `text` (placeholders and their mapping, per message).

    The intent, sentiment and language models read the text without the person names the redaction
    found (``understanding.neutral``); the human-request check reads the text as written."""
    found = redactor.redact(text) if redactor else redact(text)
    neutral = model_text(text, found.entities)  # a name must not move intent, tone or language
    prediction = model.predict(neutral)
    spoken = language_text(text, found.entities)
    language = language_detector.detect(spoken) if language_detector else detect_language(spoken)
    sentiment = analyze_sentiment(neutral)
    understanding = Understanding(
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
    return understanding, found
