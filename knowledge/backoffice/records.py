"""Stored back-office rows and the pure functions that turn them into lookup results.

Both adapters (SQL and in-memory) store these rows and share these functions, so they answer alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.models import (
    RETURN_WINDOW_DAYS,
    ClaimDraft,
    ClaimState,
    ClaimStatus,
    Contract,
    ContractState,
    Coverage,
    CoverageItem,
    OrderItem,
    OrderState,
    OrderStatus,
    Product,
    ReturnDecision,
    ReturnEligibility,
    ReturnRecord,
    ReturnState,
    Risk,
    Shipment,
    ShipmentState,
)

__all__ = [
    "CustomerRow",
    "OrderRow",
    "ShipmentRow",
    "ReturnRow",
    "ContractRow",
    "CoverageRow",
    "ClaimRow",
    "to_order_status",
    "to_return_eligibility",
    "to_contract",
    "to_coverage",
    "to_claim_status",
    "to_claim_draft",
    "next_renewal",
    "next_claim_number",
]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class CustomerRow(_Row):
    customer_id: str
    name: str
    email: str
    phone: str
    language: str


class OrderRow(_Row):
    order_number: str
    customer_id: str
    status: OrderState
    ordered_on: dt.date
    delivered_on: dt.date | None
    items: tuple[OrderItem, ...]
    shipping_fee: Decimal
    currency: str = "EUR"

    @property
    def total(self) -> Decimal:
        return sum((i.unit_price * i.quantity for i in self.items), Decimal("0")) + self.shipping_fee


class ShipmentRow(_Row):
    order_number: str
    carrier: str
    tracking_number: str
    status: ShipmentState
    shipped_on: dt.date
    eta: dt.date


class ReturnRow(_Row):
    return_id: str
    order_number: str
    status: ReturnState
    requested_on: dt.date
    refund_amount: Decimal


class ContractRow(_Row):
    policy_number: str
    customer_id: str
    product: Product
    status: ContractState
    start_date: dt.date
    premium: Decimal
    premium_interval: str
    sum_insured: Decimal
    notice_period_months: int
    currency: str = "EUR"


class CoverageRow(_Row):
    policy_number: str
    risk: Risk
    covered: bool
    deductible: Decimal
    limit: Decimal


class ClaimRow(_Row):
    claim_number: str
    customer_id: str
    policy_number: str
    risk: Risk
    status: ClaimState
    incident_date: dt.date
    reported_on: dt.date
    last_update: dt.date
    description: str
    open_documents: tuple[str, ...] = ()
    idempotency_key: str | None = None


def to_order_status(order: OrderRow, shipment: ShipmentRow | None, *, returns: list[ReturnRow]) -> OrderStatus:
    open_return = next((r for r in returns if r.status in (ReturnState.REQUESTED, ReturnState.RECEIVED)), None)
    return OrderStatus(
        source_id=f"lookup:order_status:{order.order_number}",
        order_number=order.order_number,
        status=order.status,
        ordered_on=order.ordered_on,
        delivered_on=order.delivered_on,
        items=order.items,
        shipping_fee=order.shipping_fee,
        total=order.total,
        currency=order.currency,
        shipment=None
        if shipment is None
        else Shipment(
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            status=shipment.status,
            shipped_on=shipment.shipped_on,
            eta=shipment.eta,
        ),
        open_return=None if open_return is None else ReturnRecord(**open_return.model_dump()),
    )


def to_return_eligibility(status: OrderStatus, *, today: dt.date) -> ReturnEligibility:
    deadline = None
    if status.delivered_on is not None:
        deadline = status.delivered_on + dt.timedelta(days=RETURN_WINDOW_DAYS)
    if status.status is OrderState.CANCELLED:
        decision = ReturnDecision.ORDER_CANCELLED
    elif status.open_return is not None:
        decision = ReturnDecision.RETURN_ALREADY_OPEN
    elif deadline is None:
        decision = ReturnDecision.NOT_DELIVERED_YET
    elif today > deadline:
        decision = ReturnDecision.WINDOW_EXPIRED
    else:
        decision = ReturnDecision.ELIGIBLE
    return ReturnEligibility(
        source_id=f"lookup:return_eligibility:{status.order_number}",
        order_number=status.order_number,
        eligible=decision is ReturnDecision.ELIGIBLE,
        decision=decision,
        delivered_on=status.delivered_on,
        return_deadline=deadline,
        open_return=status.open_return,
    )


def next_renewal(start: dt.date, *, today: dt.date) -> dt.date:
    """The next anniversary of ``start`` after ``today`` (contracts renew yearly)."""
    year = max(today.year, start.year + 1)
    while True:
        try:
            candidate = start.replace(year=year)
        except ValueError:  # 29 February
            candidate = dt.date(year, 3, 1)
        if candidate > today:
            return candidate
        year += 1


def to_contract(row: ContractRow, *, today: dt.date) -> Contract:
    return Contract(
        source_id=f"lookup:contract:{row.policy_number}",
        policy_number=row.policy_number,
        product=row.product,
        status=row.status,
        start_date=row.start_date,
        premium=row.premium,
        premium_interval=row.premium_interval,
        currency=row.currency,
        sum_insured=row.sum_insured,
        notice_period_months=row.notice_period_months,
        next_renewal=next_renewal(row.start_date, today=today),
    )


def to_coverage(row: ContractRow, items: list[CoverageRow]) -> Coverage:
    return Coverage(
        source_id=f"lookup:coverage:{row.policy_number}",
        policy_number=row.policy_number,
        product=row.product,
        currency=row.currency,
        items=tuple(
            CoverageItem(risk=i.risk, covered=i.covered, deductible=i.deductible, limit=i.limit)
            for i in sorted(items, key=lambda i: list(Risk).index(i.risk))
        ),
    )


def to_claim_status(row: ClaimRow) -> ClaimStatus:
    return ClaimStatus(
        source_id=f"lookup:claim_status:{row.claim_number}",
        claim_number=row.claim_number,
        policy_number=row.policy_number,
        risk=row.risk,
        status=row.status,
        incident_date=row.incident_date,
        reported_on=row.reported_on,
        last_update=row.last_update,
        open_documents=row.open_documents,
    )


def to_claim_draft(row: ClaimRow) -> ClaimDraft:
    return ClaimDraft(
        source_id=f"lookup:claim_intake:{row.claim_number}",
        claim_number=row.claim_number,
        policy_number=row.policy_number,
        risk=row.risk,
        status=row.status,
        incident_date=row.incident_date,
        reported_on=row.reported_on,
    )


def next_claim_number(existing: list[str], *, year: int) -> str:
    prefix = f"CLM-{year}-"
    used = [int(n[len(prefix) :]) for n in existing if n.startswith(prefix) and n[len(prefix) :].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:04d}"
