"""Back-office records and lookup results. Results carry a ``source_id`` so drafts can cite them."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "OrderState",
    "ShipmentState",
    "ReturnState",
    "ReturnDecision",
    "Product",
    "ContractState",
    "Risk",
    "ClaimState",
    "Customer",
    "OrderItem",
    "Shipment",
    "ReturnRecord",
    "OrderStatus",
    "ReturnEligibility",
    "Contract",
    "CoverageItem",
    "Coverage",
    "ClaimStatus",
    "ClaimIntake",
    "ClaimDraft",
    "RETURN_WINDOW_DAYS",
]

RETURN_WINDOW_DAYS = 30


@enum.unique
class OrderState(enum.StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


@enum.unique
class ShipmentState(enum.StrEnum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


@enum.unique
class ReturnState(enum.StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


@enum.unique
class ReturnDecision(enum.StrEnum):
    ELIGIBLE = "eligible"
    WINDOW_EXPIRED = "window_expired"
    NOT_DELIVERED_YET = "not_delivered_yet"
    RETURN_ALREADY_OPEN = "return_already_open"
    ORDER_CANCELLED = "order_cancelled"


@enum.unique
class Product(enum.StrEnum):
    HOUSEHOLD_CONTENTS = "household_contents"
    PERSONAL_LIABILITY = "personal_liability"


@enum.unique
class ContractState(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


@enum.unique
class Risk(enum.StrEnum):
    WATER_DAMAGE = "water_damage"
    FIRE = "fire"
    BURGLARY = "burglary"
    STORM_HAIL = "storm_hail"
    BICYCLE_THEFT = "bicycle_theft"
    GLASS_BREAKAGE = "glass_breakage"
    NATURAL_HAZARDS = "natural_hazards"
    PERSONAL_LIABILITY = "personal_liability"
    RENTED_PROPERTY = "rented_property"
    LOST_KEYS = "lost_keys"


@enum.unique
class ClaimState(enum.StrEnum):
    DRAFT_PENDING_HUMAN_REVIEW = "draft_pending_human_review"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    AWAITING_DOCUMENTS = "awaiting_documents"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    CLOSED = "closed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Customer(_Frozen):
    customer_id: str
    name: str
    email: str
    phone: str  # E.164
    language: str


class OrderItem(_Frozen):
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


class Shipment(_Frozen):
    carrier: str
    tracking_number: str
    status: ShipmentState
    shipped_on: dt.date
    eta: dt.date


class ReturnRecord(_Frozen):
    return_id: str
    order_number: str
    status: ReturnState
    requested_on: dt.date
    refund_amount: Decimal


class OrderStatus(_Frozen):
    source_id: str
    order_number: str
    status: OrderState
    ordered_on: dt.date
    delivered_on: dt.date | None
    items: tuple[OrderItem, ...]
    shipping_fee: Decimal
    total: Decimal
    currency: str
    shipment: Shipment | None
    open_return: ReturnRecord | None


class ReturnEligibility(_Frozen):
    source_id: str
    order_number: str
    eligible: bool
    decision: ReturnDecision
    delivered_on: dt.date | None
    return_deadline: dt.date | None
    open_return: ReturnRecord | None


class Contract(_Frozen):
    source_id: str
    policy_number: str
    product: Product
    status: ContractState
    start_date: dt.date
    premium: Decimal
    premium_interval: str  # "monthly" | "yearly"
    currency: str
    sum_insured: Decimal
    notice_period_months: int
    next_renewal: dt.date


class CoverageItem(_Frozen):
    risk: Risk
    covered: bool
    deductible: Decimal
    limit: Decimal


class Coverage(_Frozen):
    source_id: str
    policy_number: str
    product: Product
    currency: str
    items: tuple[CoverageItem, ...]

    def for_risk(self, risk: Risk) -> CoverageItem | None:
        return next((item for item in self.items if item.risk is risk), None)


class ClaimStatus(_Frozen):
    source_id: str
    claim_number: str
    policy_number: str
    risk: Risk
    status: ClaimState
    incident_date: dt.date
    reported_on: dt.date
    last_update: dt.date
    open_documents: tuple[str, ...]


class ClaimIntake(_Frozen):
    """What the customer reported. Filing it creates a draft for a human; nothing is decided."""

    policy_number: str
    risk: Risk
    incident_date: dt.date
    description: str
    idempotency_key: str


class ClaimDraft(_Frozen):
    source_id: str
    claim_number: str
    policy_number: str
    risk: Risk
    status: ClaimState
    incident_date: dt.date
    reported_on: dt.date
