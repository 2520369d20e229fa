"""The grounding check: numbers, dates, amounts, ids and promises must come from the context."""

from __future__ import annotations

from knowledge.drafting import check_grounding

CONTEXT = (
    "[lookup:order_status:10023] status: shipped; total: 69.70; currency: EUR; "
    "shipment: {carrier: DHL; eta: 2026-11-25}\n\n[kb:shop-returns-en] Returns within 30 days"
)
KNOWN = ("lookup:order_status:10023", "kb:shop-returns-en")


def check(answer: str, cited: tuple[str, ...] = ("lookup:order_status:10023",), customer: str = ""):
    return check_grounding(answer, cited, context=CONTEXT, known_sources=KNOWN, customer_message=customer)


def test_facts_from_the_context_pass_in_any_format() -> None:
    for answer in (
        "Order 10023 ships with DHL and arrives on 25 November 2026. Total €69.70.",
        "Bestellung 10023 kommt am 25.11.2026, Betrag 69,70 €, Rückgabe 30 Tage.",
        "It should arrive on November 25, 2026.",
    ):
        report = check(answer)
        assert report.grounded, (answer, report.problems)


def test_invented_number_date_and_id_fail() -> None:
    report = check("Order 10023 arrives on 2026-11-27, you get 15 EUR back, see POL-999999.")
    assert not report.grounded
    assert "date 2026-11-27 does not appear in the context" in report.problems
    assert "number '15' does not appear in the context" in report.problems
    assert "id 'POL-999999' does not appear in the context" in report.problems


def test_citations_must_exist_and_be_present() -> None:
    assert "cites unknown source 'kb:made-up'" in check("Shipped.", ("kb:made-up",)).problems
    assert "the draft cites no source" in check("Shipped.", ()).problems


def test_promises_not_in_the_context_are_flagged() -> None:
    report = check("We will refund you, guaranteed.")
    assert not report.grounded
    assert any("promise" in p for p in report.problems)


def test_numbers_the_customer_wrote_are_allowed() -> None:
    assert check("About your 3 glasses: order 10023 is shipped.", customer="I ordered 3 glasses").grounded
