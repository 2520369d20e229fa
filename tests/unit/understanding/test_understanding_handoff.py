from __future__ import annotations

import pytest

from understanding import HumanRequestDetector, asked_for_human


@pytest.mark.parametrize(
    "text",
    [
        "Mensch bitte",
        "Ich will mit einem Menschen sprechen",
        "echter Mitarbeiter!",
        "Kann ich mit jemandem reden?",
        "agent",
        "I want to talk to a person",
        "HUMAN PLEASE",
        "can I speak to a real person",
        "Verbinden Sie mich mit einem Mitarbeiter bitte",
        "je veux parler à un humain",
        "un operatore umano per favore",
        "give me a representative",
        "Ich möchte einen Sachbearbeiter",
    ],
)
def test_requests_for_a_human_are_always_caught(text: str) -> None:
    assert asked_for_human(text)


@pytest.mark.parametrize(
    "text",
    ["Wo ist meine Bestellung?", "I want to return my shoes", "Ist Wasserschaden versichert?", "thanks, bye", ""],
)
def test_ordinary_messages_are_not_handoff(text: str) -> None:
    assert not asked_for_human(text)


def test_custom_patterns() -> None:
    detector = HumanRequestDetector([r"\bberater\b"])
    assert detector.matches("Berater bitte") and not detector.matches("agent")
