"""Empathy without simulation on the real understanding (intent, language, anger and frustration of
the shipped models): the issue's angry examples get their problem named, a calm message gets nothing.
Here rather than in tests/unit/knowledge/ to share this folder's session demo model."""

from __future__ import annotations

import pytest

from knowledge.drafting.empathy import acknowledgement
from understanding import IntentModel, understand


def _ack(text: str, model: IntentModel) -> tuple[str | None, str]:
    u = understand(text, model=model)
    return acknowledgement(
        u.intent, language=u.language, anger=u.emotions["anger"], frustration=u.emotions["frustration"], lookups=()
    ), u.intent or ""


def test_an_angry_english_customer_gets_the_problem_named_and_an_apology(demo_model: IntentModel) -> None:
    text, intent = _ack("This is the third time I write, your service is useless, I want my money back NOW", demo_model)
    assert intent == "complaint"
    assert text == "You have told us that we have not solved your problem. We apologise for this."


def test_an_angry_german_customer_gets_the_same_in_german(demo_model: IntentModel) -> None:
    text, intent = _ack(
        "Das ist das dritte Mal, dass ich schreibe. Ihr Service ist nutzlos, ich will sofort mein Geld zurück!",
        demo_model,
    )
    assert intent == "complaint"
    assert text == "Sie haben uns geschrieben, dass wir Ihr Anliegen nicht gelöst haben. Dafür entschuldigen wir uns."


@pytest.mark.parametrize(
    "message",
    ["Where is my order 10023? Thanks", "Wo ist meine Bestellung 10023?", "Can I change the address on my policy?"],
)
def test_a_calm_customer_gets_no_acknowledgement(demo_model: IntentModel, message: str) -> None:
    text, _ = _ack(message, demo_model)
    assert text is None
