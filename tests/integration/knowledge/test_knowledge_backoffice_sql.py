"""The SQL back office on a real SQLite file (aiosqlite): seed, scoped lookups, claim drafts, failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowledge import LookupFailed, LookupNotFound
from knowledge.backoffice import (
    ClaimState,
    InMemoryBackOffice,
    Lookups,
    Risk,
    SqlBackOffice,
    seed_backoffice,
)

TODAY = dt.date(2026, 11, 23)
ANNA, JOHN = "CUST-1001", "CUST-1002"


@pytest.fixture
async def sql(tmp_path: Path) -> AsyncIterator[SqlBackOffice]:
    path = await seed_backoffice(tmp_path / "var" / "backoffice.db", today=TODAY)
    backoffice = SqlBackOffice.from_path(path, today=lambda: TODAY)
    try:
        yield backoffice
    finally:
        await backoffice.aclose()


async def test_sql_answers_exactly_like_the_fake(sql: SqlBackOffice) -> None:
    fake = InMemoryBackOffice(today=lambda: TODAY)
    for customer in (ANNA, JOHN):
        assert await sql.list_orders(customer) == await fake.list_orders(customer)
        assert await sql.list_contracts(customer) == await fake.list_contracts(customer)
    assert await sql.coverage(ANNA, "POL-100234") == await fake.coverage(ANNA, "POL-100234")
    assert await sql.claim_status(ANNA, "CLM-2026-0001") == await fake.claim_status(ANNA, "CLM-2026-0001")
    assert await sql.return_eligibility(JOHN, "10024") == await fake.return_eligibility(JOHN, "10024")
    assert await sql.find_customer(phone="+447700900123") == await fake.find_customer(phone="+447700900123")


async def test_demo_facts(sql: SqlBackOffice) -> None:
    lookups = Lookups(sql)
    anna = await lookups.find_customer(email="anna.schmidt@example.com")
    assert anna is not None and anna.phone == "+4915112345678"
    order = await lookups.order_status(anna.customer_id, "10023")
    assert order.shipment is not None and order.shipment.carrier == "DHL"
    assert order.shipment.eta == TODAY + dt.timedelta(days=2)
    water = (await lookups.coverage(anna.customer_id, "POL-100234")).for_risk(Risk.WATER_DAMAGE)
    assert water is not None and water.covered and str(water.deductible) == "150"
    assert [o.order_number for o in await lookups.list_orders(JOHN)] == ["10031", "10024"]


async def test_scoping_holds_in_sql(sql: SqlBackOffice) -> None:
    lookups = Lookups(sql)
    with pytest.raises(LookupNotFound):
        await lookups.order_status(ANNA, "10024")
    with pytest.raises(LookupNotFound):
        await lookups.claim_status(JOHN, "CLM-2026-0001")
    with pytest.raises(LookupNotFound):
        await lookups.contract(JOHN, "POL-100234")


async def test_claim_intake_writes_a_draft_row_once(sql: SqlBackOffice) -> None:
    lookups = Lookups(sql)
    kwargs = dict(
        risk=Risk.WATER_DAMAGE, incident_date=TODAY, description="Dishwasher leaked", idempotency_key="msg-77"
    )
    first = await lookups.claim_intake(ANNA, "POL-100234", **kwargs)
    second = await lookups.claim_intake(ANNA, "POL-100234", **kwargs)
    assert first == second
    assert first.status is ClaimState.DRAFT_PENDING_HUMAN_REVIEW
    stored = await lookups.claim_status(ANNA, first.claim_number)
    assert stored.status is ClaimState.DRAFT_PENDING_HUMAN_REVIEW
    other = await lookups.claim_intake(ANNA, "POL-100234", **{**kwargs, "idempotency_key": "msg-78"})
    assert other.claim_number != first.claim_number


async def test_seeding_twice_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "bo.db"
    await seed_backoffice(path, today=TODAY)
    backoffice = SqlBackOffice.from_path(path, today=lambda: TODAY)
    try:
        await Lookups(backoffice).claim_intake(
            ANNA, "POL-100234", risk=Risk.FIRE, incident_date=TODAY, description="Candle", idempotency_key="k"
        )
        await seed_backoffice(path, today=TODAY)
        assert len([c async for c in _claims(backoffice, ANNA)]) == 2
    finally:
        await backoffice.aclose()


async def _claims(backoffice: SqlBackOffice, customer: str) -> AsyncIterator[str]:
    for number in ("CLM-2026-0001", "CLM-2026-0004"):
        if await backoffice.claim_status(customer, number) is not None:
            yield number


async def test_a_database_without_tables_is_a_typed_failure(tmp_path: Path) -> None:
    backoffice = SqlBackOffice.from_path(tmp_path / "empty.db", today=lambda: TODAY)
    try:
        with pytest.raises(LookupFailed) as info:
            await Lookups(backoffice, attempts=2, backoff=0.0).order_status(ANNA, "10023")
        assert info.value.attempts == 2
        assert "unavailable" in info.value.reason
    finally:
        await backoffice.aclose()
