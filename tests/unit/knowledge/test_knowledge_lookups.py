"""Lookup tools over the in-memory back office: scoping, claim drafts, timeouts and failure types."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge import BackOfficeError, BackOfficeUnavailable, LookupFailed, LookupNotFound
from knowledge.backoffice import (
    ClaimState,
    InMemoryBackOffice,
    Lookups,
    OrderState,
    ReturnDecision,
    Risk,
)

from .conftest import ANNA, JOHN, TODAY


async def test_find_customer_by_verified_email_or_phone(lookups: Lookups) -> None:
    by_phone = await lookups.find_customer(phone="+4915112345678")
    by_email = await lookups.find_customer(email="John.Miller@example.com")
    assert by_phone is not None and by_phone.name == "Anna Schmidt" and by_phone.customer_id == ANNA
    assert by_email is not None and by_email.customer_id == JOHN
    assert await lookups.find_customer(email="nobody@example.com") is None


async def test_order_status_returns_shipment_facts_with_a_citable_source(lookups: Lookups) -> None:
    order = await lookups.order_status(ANNA, "#10023")
    assert order.source_id == "lookup:order_status:10023"
    assert order.status is OrderState.SHIPPED
    assert order.shipment is not None and order.shipment.carrier == "DHL"
    assert order.shipment.eta == TODAY + dt.timedelta(days=2)
    assert str(order.total) == "69.70"


async def test_another_customers_order_looks_exactly_like_a_missing_one(lookups: Lookups) -> None:
    with pytest.raises(LookupNotFound) as foreign:
        await lookups.order_status(ANNA, "10024")  # John's order
    with pytest.raises(LookupNotFound) as missing:
        await lookups.order_status(ANNA, "99999")
    with pytest.raises(LookupNotFound) as garbage:
        await lookups.order_status(ANNA, "10024; DROP TABLE")
    assert str(foreign.value).replace("10024", "X") == str(missing.value).replace("99999", "X")
    assert type(foreign.value) is type(missing.value) is type(garbage.value)
    assert (await lookups.order_status(JOHN, "10024")).order_number == "10024"


@pytest.mark.parametrize(
    ("call", "reference"),
    [
        ("contract", "POL-200871"),
        ("coverage", "POL-200871"),
        ("claim_status", "CLM-2026-0002"),
        ("return_eligibility", "10031"),
    ],
)
async def test_every_lookup_is_scoped_to_the_customer(lookups: Lookups, call: str, reference: str) -> None:
    with pytest.raises(LookupNotFound):
        await getattr(lookups, call)(ANNA, reference)
    assert await getattr(lookups, call)(JOHN, reference) is not None


async def test_return_eligibility_decisions(lookups: Lookups) -> None:
    eligible = await lookups.return_eligibility(ANNA, "10019")
    expired = await lookups.return_eligibility(JOHN, "10024")
    not_yet = await lookups.return_eligibility(ANNA, "10023")
    assert eligible.eligible and eligible.decision is ReturnDecision.ELIGIBLE
    assert eligible.return_deadline == eligible.delivered_on + dt.timedelta(days=30)
    assert not expired.eligible and expired.decision is ReturnDecision.WINDOW_EXPIRED
    assert not_yet.decision is ReturnDecision.NOT_DELIVERED_YET


async def test_coverage_for_anna_water_damage(lookups: Lookups) -> None:
    coverage = await lookups.coverage(ANNA, "pol-100234")
    water = coverage.for_risk(Risk.WATER_DAMAGE)
    assert coverage.source_id == "lookup:coverage:POL-100234"
    assert water is not None and water.covered and str(water.deductible) == "150"


async def test_claim_intake_files_a_draft_only_and_is_idempotent(
    lookups: Lookups, backoffice: InMemoryBackOffice
) -> None:
    before = {c.claim_number: c.status for c in backoffice.claims}
    draft = await lookups.claim_intake(
        ANNA,
        "POL-100234",
        risk=Risk.BICYCLE_THEFT,
        incident_date=TODAY - dt.timedelta(days=1),
        description="Bike stolen from the courtyard",
        idempotency_key="msg-1",
    )
    again = await lookups.claim_intake(
        ANNA,
        "POL-100234",
        risk=Risk.BICYCLE_THEFT,
        incident_date=TODAY - dt.timedelta(days=1),
        description="Bike stolen from the courtyard",
        idempotency_key="msg-1",
    )
    assert draft.status is ClaimState.DRAFT_PENDING_HUMAN_REVIEW
    assert again == draft
    assert draft.claim_number == "CLM-2026-0004"
    assert {c.claim_number: c.status for c in backoffice.claims if c.claim_number in before} == before
    status = await lookups.claim_status(ANNA, draft.claim_number)
    assert status.status is ClaimState.DRAFT_PENDING_HUMAN_REVIEW


async def test_claim_intake_on_someone_elses_policy_is_not_found(
    lookups: Lookups, backoffice: InMemoryBackOffice
) -> None:
    with pytest.raises(LookupNotFound):
        await lookups.claim_intake(
            ANNA, "POL-200871", risk=Risk.WATER_DAMAGE, incident_date=TODAY, description="x", idempotency_key="msg-2"
        )
    assert len(backoffice.claims) == 3


async def test_a_slow_back_office_times_out_into_lookup_failed() -> None:
    slow = InMemoryBackOffice(today=lambda: TODAY, delay=5.0)
    lookups = Lookups(slow, timeout=0.01, attempts=2, backoff=0.0)
    with pytest.raises(LookupFailed) as info:
        await lookups.order_status(ANNA, "10023")
    assert info.value.tool == "order_status"
    assert "timed out" in info.value.reason
    assert info.value.attempts == 2
    assert slow.calls == 2


async def test_transient_failures_are_retried_then_succeed() -> None:
    flaky = InMemoryBackOffice(today=lambda: TODAY, failures=[BackOfficeUnavailable("locked")] * 2)
    order = await Lookups(flaky, attempts=3, backoff=0.0).order_status(ANNA, "10023")
    assert order.order_number == "10023"
    assert flaky.calls == 3


async def test_retries_are_bounded() -> None:
    down = InMemoryBackOffice(today=lambda: TODAY, failures=[BackOfficeUnavailable("down")] * 10)
    with pytest.raises(LookupFailed, match="unavailable"):
        await Lookups(down, attempts=3, backoff=0.0).contract(ANNA, "POL-100234")
    assert down.calls == 3


async def test_permanent_errors_and_not_found_are_not_retried() -> None:
    broken = InMemoryBackOffice(today=lambda: TODAY, failures=[BackOfficeError("bad schema")])
    with pytest.raises(LookupFailed) as info:
        await Lookups(broken, attempts=3, backoff=0.0).coverage(ANNA, "POL-100234")
    assert info.value.attempts == 1 and broken.calls == 1
    fine = InMemoryBackOffice(today=lambda: TODAY)
    with pytest.raises(LookupNotFound):
        await Lookups(fine, attempts=3).order_status(ANNA, "10031")
    assert fine.calls == 1
