from __future__ import annotations

import pytest

from understanding import LanguageDetector, detect_language
from understanding.language import UNKNOWN_LANGUAGE


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Wo ist meine Bestellung? Ich warte seit einer Woche.", "de"),
        ("Where is my order? I have been waiting for a week.", "en"),
        ("Où est ma commande ? J'attends depuis une semaine.", "fr"),
        ("Dov'è il mio ordine? Aspetto da una settimana.", "it"),
        ("Ich möchte meinen Vertrag kündigen", "de"),
        ("I would like to cancel my contract", "en"),
    ],
)
def test_detects_short_messages(text: str, code: str) -> None:
    guess = detect_language(text)
    assert guess.code == code and 0.3 <= guess.confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "ok", "42", "!!", "😀"])
def test_empty_or_too_short_is_unknown(text: str) -> None:
    guess = detect_language(text)
    assert guess.code == UNKNOWN_LANGUAGE and guess.confidence == 0.0


def test_restricted_language_set() -> None:
    detector = LanguageDetector(["de", "en"])
    assert detector.detect("Où est ma commande ? J'attends depuis une semaine.").code in {"de", "en", "unknown"}
    with pytest.raises(ValueError, match="'xx'"):
        LanguageDetector(["de", "xx"]).warm_up()
