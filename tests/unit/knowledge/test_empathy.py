"""Empathy without simulation: an angry or distressed customer's problem is named (from the intent
and the lookups), with an apology where a fault is plausible; calm customers get nothing; no
template claims a feeling. The example messages through the real understanding are in
tests/unit/fairness/test_empathy_examples.py (they share that folder's demo model)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from knowledge.article import Language
from knowledge.backoffice import Lookups
from knowledge.drafting.empathy import (
    ANGER_THRESHOLD,
    APOLOGY,
    FAULT_PLAUSIBLE,
    FRUSTRATION_THRESHOLD,
    TEMPLATES,
    acknowledgement,
    choose_acknowledgement,
)
from tests.unit.knowledge.conftest import ANNA, TODAY

# feelings a text could claim or attribute; matched as word starts, case-insensitive
FEELING_WORDS = {
    "en": [
        "feel",
        "feeling",
        "understand",
        "sorry",
        "regret",
        "sad",
        "upset",
        "frustrat",
        "empath",
        "sympath",
        "glad",
        "happy",
        "pleased",
        "appreciate",
        "imagine",
        "annoy",
        "unfortunate",
        "hear that",
        "i ",
    ],
    "de": [
        "fühl",
        "gefühl",
        "versteh",
        "nachvollzieh",
        "leid",
        "bedauer",
        "traurig",
        "ärger",
        "frust",
        "froh",
        "freu",
        "mitgefühl",
        "mitfühl",
        "leider",
        "vorstellen",
        "ich ",
    ],
}


def test_the_thresholds() -> None:
    assert (
        acknowledgement(
            "complaint",
            language="en",
            anger=ANGER_THRESHOLD - 0.01,
            frustration=FRUSTRATION_THRESHOLD - 0.01,
            lookups=(),
        )
        is None
    )
    assert acknowledgement("complaint", language="en", anger=ANGER_THRESHOLD, frustration=0.0, lookups=())
    assert acknowledgement("complaint", language="en", anger=0.0, frustration=FRUSTRATION_THRESHOLD, lookups=())


async def test_the_lookups_name_the_order(lookups: Lookups) -> None:
    order = await lookups.order_status(ANNA, "10023")
    en = acknowledgement("delivery_problem", language="en", anger=0.8, frustration=0.2, lookups=[order])
    de = acknowledgement("delivery_problem", language="de-CH", anger=0.8, frustration=0.2, lookups=[order])
    assert en == "Your order 10023 has not arrived. We apologise for this."
    assert de == "Ihre Bestellung 10023 ist nicht bei Ihnen angekommen. Dafür entschuldigen wir uns."


async def test_the_lookups_name_the_water_damage_claim_without_an_apology(lookups: Lookups) -> None:
    claim = await lookups.claim_status(ANNA, f"CLM-{(TODAY - dt.timedelta(days=19)).year}-0001")  # water damage
    ack = choose_acknowledgement("claim_status", language="en", anger=0.1, frustration=0.7, lookups=[claim])
    assert ack is not None and not ack.apologised and ack.template_id == "claim_status.claim"
    assert ack.text == f"You are waiting for news on your water damage claim {claim.claim_number}."
    de = acknowledgement("claim_status", language="de", anger=0.1, frustration=0.7, lookups=[claim])
    assert de == f"Sie warten auf Nachricht zu Ihrer Schadenmeldung {claim.claim_number} zum Wasserschaden."


def test_an_unknown_or_missing_intent_gets_the_general_acknowledgement() -> None:
    for intent in (None, "small_talk", "something_new"):
        ack = choose_acknowledgement(intent, language="en", anger=0.9, frustration=0.0, lookups=())
        assert ack is not None and ack.template_id == "general" and not ack.apologised


def test_a_language_without_templates_gets_none() -> None:
    assert acknowledgement("complaint", language="fr", anger=0.9, frustration=0.9, lookups=()) is None
    assert acknowledgement("complaint", language="unknown", anger=0.9, frustration=0.9, lookups=()) is None


def test_only_a_plausible_fault_is_apologised_for() -> None:
    for intent in TEMPLATES:
        ack = choose_acknowledgement(intent, language="en", anger=0.9, frustration=0.9, lookups=())
        assert ack is not None
        assert ack.apologised == (intent in FAULT_PLAUSIBLE)
        assert ack.text.endswith(APOLOGY[Language.EN]) == (intent in FAULT_PLAUSIBLE)


def test_every_intent_has_a_template_that_needs_no_lookup() -> None:
    for intent, templates in TEMPLATES.items():
        assert templates and not templates[-1].needs, intent
        for t in templates:
            for text in (t.de, t.en):
                assert set(re.findall(r"\{(\w+)\}", text)) == t.needs, (t.id, text)


@pytest.mark.parametrize("language", ["de", "en"])
def test_no_template_claims_or_attributes_a_feeling(language: str) -> None:
    texts = [getattr(t, language) for templates in TEMPLATES.values() for t in templates]
    texts.append(APOLOGY[Language(language)])
    for text in texts:
        lowered = f" {text.lower()}"
        found = [w for w in FEELING_WORDS[language] if re.search(r"\W" + re.escape(w), lowered)]
        assert not found, f"{text!r} uses {found}: state facts and next steps instead"
