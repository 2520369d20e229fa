"""Language of short texts with lingua, restricted to a configurable set and built lazily once.

Two rules keep a short message from getting a confident wrong guess:

- a prior towards the deployment's own languages (``preferred``, by default de and en): lingua's
  confidence values (which assume every language equally likely) are multiplied by
  ``prior_weight`` for a preferred language and normalised again. With two preferred languages of
  nine that says a message is in one of them with probability 8/15, which is modest: "Bonjour",
  "Merci beaucoup" or a sentence of Polish keep their language, while "Hello" (lingua: Italian
  0.35, English 0.16) is no longer Italian;
- minimum evidence: a text of fewer than ``short_letters`` letters ("Hello", "Servus", "Grazie") is
  only given a language at ``short_min_confidence`` or more ("Danke" 0.71 is German); otherwise it is "unknown" with reason
  ``too_short``, and the turn keeps the conversation's language (``services.turn_facts``).

Callers strip names and other personal data first (``understanding.neutral.language_text``): a name
says nothing about the language a message is written in.
"""

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
    "PREFERRED_LANGUAGES",
]

UNKNOWN_LANGUAGE = "unknown"
# The languages we hold notice templates for. Each costs about 28 MB of resident memory in lingua's
# high-accuracy mode (9: 252 MB); low-accuracy mode is cheap but misreads short messages.
DEFAULT_LANGUAGES: tuple[str, ...] = ("de", "en", "fr", "it", "es", "nl", "pt", "pl", "tr")
PREFERRED_LANGUAGES: tuple[str, ...] = ("de", "en")  # the languages a default install answers in
_MIN_LETTERS = 3
_LETTERS = re.compile(r"[\W\d_]+")


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

    def __init__(
        self,
        languages: Iterable[str] = DEFAULT_LANGUAGES,
        *,
        min_confidence: float = 0.3,
        preferred: Iterable[str] = PREFERRED_LANGUAGES,
        prior_weight: float = 4.0,
        short_letters: int = 12,
        short_min_confidence: float = 0.6,
    ) -> None:
        if prior_weight < 1.0:
            raise ValueError(f"prior_weight must be at least 1.0 (1.0: no prior), got {prior_weight}")
        self.languages = tuple(code.lower() for code in languages)
        self.min_confidence = min_confidence
        self.preferred = frozenset(code.lower() for code in preferred) & frozenset(self.languages)
        self.prior_weight = prior_weight
        self.short_letters = short_letters
        self.short_min_confidence = short_min_confidence
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
        letters = len(_LETTERS.sub("", text or ""))
        if letters < _MIN_LETTERS:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=0.0, reason=LanguageReason.TOO_SHORT)
        posterior = self.posterior(text)
        if not posterior:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=0.0, reason=LanguageReason.LOW_CONFIDENCE)
        code, value = max(posterior.items(), key=lambda item: item[1])
        confidence = round(value, 4)
        if letters < self.short_letters and confidence < self.short_min_confidence:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=confidence, reason=LanguageReason.TOO_SHORT)
        if confidence < self.min_confidence:
            return LanguageGuess(code=UNKNOWN_LANGUAGE, confidence=confidence, reason=LanguageReason.LOW_CONFIDENCE)
        return LanguageGuess(code=code, confidence=confidence)

    def posterior(self, text: str) -> dict[str, float]:
        """Language code -> probability, lingua's confidence values under the prior (empty when lingua
        has none)."""
        values = self._build().compute_language_confidence_values(text)
        weighted = {
            v.language.iso_code_639_1.name.lower(): float(v.value)
            * (self.prior_weight if v.language.iso_code_639_1.name.lower() in self.preferred else 1.0)
            for v in values
        }
        total = sum(weighted.values())
        return {code: w / total for code, w in weighted.items()} if total > 0 else {}


_default: LanguageDetector | None = None


def detect_language(text: str) -> LanguageGuess:
    """Detect with a process-wide detector over DEFAULT_LANGUAGES."""
    global _default
    if _default is None:
        _default = LanguageDetector()
    return _default.detect(text)
