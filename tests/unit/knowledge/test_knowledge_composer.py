"""The embedded composer: answers only from lookups and articles, in the customer's language, cited."""

from __future__ import annotations

import datetime as dt

from knowledge import KnowledgeBase
from knowledge.backoffice import Lookups, Risk
from knowledge.drafting import DraftIntent, DraftMode, compose

from .conftest import ANNA, JOHN, TODAY


async def test_order_status_in_german_cites_lookup_and_article(kb: KnowledgeBase, lookups: Lookups) -> None:
    message = "Wann kommt meine Bestellung 10023 an?"
    order = await lookups.order_status(ANNA, "10023")
    draft = compose(
        DraftIntent.ORDER_STATUS,
        "de",
        customer_message=message,
        hits=kb.search(message, language="de"),
        lookups=[order],
    )
    assert draft is not None
    eta = TODAY + dt.timedelta(days=2)
    assert "Ihre Bestellung 10023" in draft.text
    assert "DHL" in draft.text and eta.strftime("%d.%m.%Y") in draft.text
    assert draft.sources == ("kb:shop-tracking-de", "lookup:order_status:10023")
    assert draft.mode is DraftMode.COMPOSER and draft.grounded and draft.problems == ()


async def test_order_status_in_english(kb: KnowledgeBase, lookups: Lookups) -> None:
    message = "Where is my order 10031?"
    order = await lookups.order_status(JOHN, "10031")
    draft = compose(
        "order_status", "en", customer_message=message, hits=kb.search(message, language="en"), lookups=[order]
    )
    assert draft is not None
    assert draft.text.startswith("Your order 10031")
    assert "has not shipped yet" in draft.text
    assert "lookup:order_status:10031" in draft.sources
    assert all(not s.endswith("-de") for s in draft.sources)


async def test_coverage_answer_states_covered_and_deductible(kb: KnowledgeBase, lookups: Lookups) -> None:
    message = "Ist ein Wasserschaden bei mir versichert?"
    coverage = await lookups.coverage(ANNA, "POL-100234")
    draft = compose(
        "coverage_question", "de", customer_message=message, hits=kb.search(message, language="de"), lookups=[coverage]
    )
    assert draft is not None and draft.grounded
    assert "Laut Ihrem Vertrag POL-100234 mitversichert: Leitungswasserschäden." in draft.text
    assert "Selbstbeteiligung: 150 €" in draft.text
    assert "lookup:coverage:POL-100234" in draft.sources


async def test_not_covered_is_said_plainly(lookups: Lookups) -> None:
    coverage = await lookups.coverage(JOHN, "POL-200871")
    draft = compose("coverage_question", "en", customer_message="Is my bike covered?", lookups=[coverage])
    assert draft is not None
    assert "Bicycle theft is not covered under your policy POL-200871." in draft.text
    assert draft.sources == ("lookup:coverage:POL-200871",)


async def test_claim_status_and_claim_draft(lookups: Lookups) -> None:
    status = await lookups.claim_status(ANNA, "CLM-2026-0001")
    text = compose("claim_status", "de", customer_message="Stand?", lookups=[status])
    assert text is not None and "wartet auf Unterlagen" in text.text and "Fotos des Schadens" in text.text
    draft = await lookups.claim_intake(
        ANNA, "POL-100234", risk=Risk.WATER_DAMAGE, incident_date=TODAY, description="pipe burst", idempotency_key="m-9"
    )
    reply = compose("claim_report", "en", customer_message="A pipe burst", lookups=[draft])
    assert reply is not None and reply.grounded
    assert draft.claim_number in reply.text
    assert "A person, not the AI, decides on the claim." in reply.text


def test_knowledge_only_answer(kb: KnowledgeBase) -> None:
    message = "Welche Zahlungsarten gibt es?"
    draft = compose("payment", "de", customer_message=message, hits=kb.search(message, language="de"))
    assert draft is not None and draft.grounded
    assert draft.sources == ("kb:shop-payment-de",)
    assert draft.text.startswith("Aus unserem Hilfeartikel „Zahlungsarten“")


def test_no_source_means_no_answer(kb: KnowledgeBase) -> None:
    message = "Tell me a joke about penguins"
    assert compose("general", "en", customer_message=message, hits=kb.search(message, language="en")) is None
    assert compose("general", "de", customer_message="Hallo") is None


def test_articles_in_another_language_or_internal_are_never_quoted(kb: KnowledgeBase) -> None:
    german_only = kb.search("Zahlungsarten PayPal", language="de")
    assert compose("payment", "en", customer_message="payment methods?", hits=german_only) is None
    internal = kb.search("Kulanz Gutschein", include_internal=True)
    assert internal and compose("complaint", "de", customer_message="Kulanz Gutschein", hits=internal) is None
