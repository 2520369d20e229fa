"""Language of short texts with lingua, restricted to a configurable set and built lazily once."""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "LanguageReason",
    "UNKNOWN_LANGUAGE",
    "LanguageGuess",
    "LanguageDetector",
    "detect_language",
    "DEFAULT_LANGUAGES",
]

UNKNOWN_LANGUAGE = "unknown"
# The languages we hold notice templates for. Each costs about 28 MB of resident memory in lingua's
# high-accuracy mode (9: 252 MB); low-accuracy mode is cheap but misreads short messages.
DEFAULT_LANGUAGES: tuple[str, ...] = ("de", "en", "fr", "it", "es", "nl", "pt", "pl", "tr")
_MIN_LETTERS = 3


@enum.unique
class LanguageReason(enum.StrEnum):
    DETECTED = "detected"
    TOO_SHORT = "too_short"
    LOW_CONFIDENCE = "low_confidence"


class LanguageGuess(BaseModel):
    """`code` is an ISO 639-1 code or "unknown" (empty, too short, or nothing confident)."""

    model_config = ConfigDict(frozen=True)

    code: str
    confidence: float
    reason: LanguageReason = LanguageReason.DETECTED


class LanguageDetector:
    """Wraps a lingua detector. Building it takes a moment, so it happens on first use only."""

    def __init__(self, languages: Iterable[str] = DEFAULT_LANGUAGES, *, min_confidence: float = 0.3) -> None:
        self.languages = tuple(code.lower() for code in languages)
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        with self._lock:
            if self._detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                chosen = []
                for code in self.languages:
                    try:
                        chosen.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
                    except AttributeError:
                        raise ValueError(f"unknown ISO 639-1 language code {code!r} in the language set") from None
                if len(chosen) < 2:
                    raise ValueError("configure at least two languages for detection")
                self._detector = LanguageDetectorBuilder.from_languages(*chosen).build()
        return self._detector

    def warm_up(self) -> None:
        """Build the detector and load its models now (about 2 s for six languages) instead of on the
        first message."""
        self._build().compute_language_confidence_values("warm up the language models")

    def detect(self, text: str) -> LanguageGuess:
        letters = re.sub(r"[\W\d_]+", "", text or "")
        if len(letters) < _MIN_LETTERS:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=0.0, reason=LanguageReason.TOO_SHORT)
        values = self._build().compute_language_confidence_values(text)
        if not values:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=0.0, reason=LanguageReason.LOW_CONFIDENCE)
        top = values[0]
        confidence = round(float(top.value), 4)
        if confidence < self.min_confidence:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=confidence, reason=LanguageReason.LOW_CONFIDENCE)
        return LanguageGuess(code=top.language.iso_code_639_1.name.lower(), confidence=confidence)


_default: LanguageDetector | None = None


def detect_language(text: str) -> LanguageGuess:
    """Detect with a process-wide detector over DEFAULT_LANGUAGES."""
    global _default
    if _default is None:
        _default = LanguageDetector()
    return _default.detect(text)
