"""In-memory back office: the port's fake. Can inject a delay and failures to exercise timeouts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable

from knowledge.backoffice.demo import DemoData, demo_data
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimIntake,
    ClaimState,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderStatus,
    ReturnEligibility,
)
from knowledge.backoffice.records import (
    ClaimRow,
    ContractRow,
    OrderRow,
    next_claim_number,
    to_claim_draft,
    to_claim_status,
    to_contract,
    to_coverage,
    to_order_status,
    to_return_eligibility,
)

__all__ = ["InMemoryBackOffice"]


class InMemoryBackOffice:
    """Implements ``BackOffice`` over ``DemoData`` held in memory.

    ``delay`` (seconds) is awaited before every call; each call first pops and raises the next
    exception from ``failures`` (e.g. ``BackOfficeUnavailable``) if any are left.
    """

    def __init__(
        self,
        data: DemoData | None = None,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        delay: float = 0.0,
        failures: Iterable[Exception] = (),
    ) -> None:
        self._today = today
        self._data = data if data is not None else demo_data(today())
        self._claims: list[ClaimRow] = list(self._data.claims)
        self.delay = delay
        self.failures = list(failures)
        self.calls = 0

    async def _enter(self) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)

    @property
    def claims(self) -> tuple[ClaimRow, ...]:
        return tuple(self._claims)

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        await self._enter()
        for row in self._data.customers:
            if (email and row.email == email.strip().lower()) or (phone and row.phone == phone.replace(" ", "")):
                return Customer(**row.model_dump())
        return None

    def _order(self, customer_id: str, order_number: str) -> OrderStatus | None:
        order = next(
            (o for o in self._data.orders if o.order_number == order_number and o.customer_id == customer_id), None
        )
        return None if order is None else self._status(order)

    def _status(self, order: OrderRow) -> OrderStatus:
        shipment = next((s for s in self._data.shipments if s.order_number == order.order_number), None)
        returns = [r for r in self._data.returns if r.order_number == order.order_number]
        return to_order_status(order, shipment, returns=returns)

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        await self._enter()
        return self._order(customer_id, order_number)

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        await self._enter()
        mine = sorted(
            (o for o in self._data.orders if o.customer_id == customer_id),
            key=lambda o: (o.ordered_on, o.order_number),
            reverse=True,
        )
        return tuple(self._status(o) for o in mine)

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        await self._enter()
        status = self._order(customer_id, order_number)
        return None if status is None else to_return_eligibility(status, today=self._today())

    def _contract_row(self, customer_id: str, policy_number: str) -> ContractRow | None:
        return next(
            (c for c in self._data.contracts if c.policy_number == policy_number and c.customer_id == customer_id), None
        )

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        await self._enter()
        row = self._contract_row(customer_id, policy_number)
        return None if row is None else to_contract(row, today=self._today())

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        await self._enter()
        return tuple(to_contract(c, today=self._today()) for c in self._data.contracts if c.customer_id == customer_id)

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        await self._enter()
        row = self._contract_row(customer_id, policy_number)
        if row is None:
            return None
        return to_coverage(row, [c for c in self._data.coverage if c.policy_number == policy_number])

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        await self._enter()
        row = next((c for c in self._claims if c.claim_number == claim_number and c.customer_id == customer_id), None)
        return None if row is None else to_claim_status(row)

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        await self._enter()
        if self._contract_row(customer_id, intake.policy_number) is None:
            return None
        existing = next((c for c in self._claims if c.idempotency_key == intake.idempotency_key), None)
        if existing is not None:
            return to_claim_draft(existing) if existing.customer_id == customer_id else None
        today = self._today()
        row = ClaimRow(
            claim_number=next_claim_number([c.claim_number for c in self._claims], year=today.year),
            customer_id=customer_id,
            policy_number=intake.policy_number,
            risk=intake.risk,
            status=ClaimState.DRAFT_PENDING_HUMAN_REVIEW,
            incident_date=intake.incident_date,
            reported_on=today,
            last_update=today,
            description=intake.description,
            idempotency_key=intake.idempotency_key,
        )
        self._claims.append(row)
        return to_claim_draft(row)
