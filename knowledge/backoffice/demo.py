"""The demo back office: a web shop and an insurer with a handful of customers.

Dates are relative to ``today`` so the demo always looks current; every adapter seeded from the
same ``today`` answers with the same facts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.models import (
    ClaimState,
    ContractState,
    OrderItem,
    OrderState,
    Product,
    ReturnState,
    Risk,
    ShipmentState,
)
from knowledge.backoffice.records import (
    ClaimRow,
    ContractRow,
    CoverageRow,
    CustomerRow,
    OrderRow,
    ReturnRow,
    ShipmentRow,
)

__all__ = ["DemoData", "demo_data", "ANNA", "JOHN", "LENA", "PRIYA"]

ANNA = "CUST-1001"
JOHN = "CUST-1002"
LENA = "CUST-1003"
PRIYA = "CUST-1004"


class DemoData(BaseModel):
    model_config = ConfigDict(frozen=True)

    customers: tuple[CustomerRow, ...]
    orders: tuple[OrderRow, ...]
    shipments: tuple[ShipmentRow, ...]
    returns: tuple[ReturnRow, ...]
    contracts: tuple[ContractRow, ...]
    coverage: tuple[CoverageRow, ...]
    claims: tuple[ClaimRow, ...]


def _item(sku: str, name: str, price: str, qty: int = 1) -> OrderItem:
    return OrderItem(sku=sku, name=name, quantity=qty, unit_price=D(price))


def _household(policy: str, *, deductible: str, limit: str, bike: bool, bike_limit: str) -> list[CoverageRow]:
    d, lim = D(deductible), D(limit)
    rows = [
        CoverageRow(policy_number=policy, risk=Risk.WATER_DAMAGE, covered=True, deductible=d, limit=lim),
        CoverageRow(policy_number=policy, risk=Risk.FIRE, covered=True, deductible=d, limit=lim),
        CoverageRow(policy_number=policy, risk=Risk.BURGLARY, covered=True, deductible=d, limit=lim),
        CoverageRow(policy_number=policy, risk=Risk.STORM_HAIL, covered=True, deductible=d, limit=lim),
        CoverageRow(
            policy_number=policy,
            risk=Risk.BICYCLE_THEFT,
            covered=bike,
            deductible=d if bike else D("0"),
            limit=D(bike_limit) if bike else D("0"),
        ),
        CoverageRow(policy_number=policy, risk=Risk.GLASS_BREAKAGE, covered=False, deductible=D("0"), limit=D("0")),
        CoverageRow(policy_number=policy, risk=Risk.NATURAL_HAZARDS, covered=False, deductible=D("0"), limit=D("0")),
    ]
    return rows


def _liability(policy: str) -> list[CoverageRow]:
    return [
        CoverageRow(
            policy_number=policy, risk=Risk.PERSONAL_LIABILITY, covered=True, deductible=D("0"), limit=D("10000000")
        ),
        CoverageRow(
            policy_number=policy, risk=Risk.RENTED_PROPERTY, covered=True, deductible=D("0"), limit=D("500000")
        ),
        CoverageRow(policy_number=policy, risk=Risk.LOST_KEYS, covered=True, deductible=D("100"), limit=D("20000")),
    ]


def demo_data(today: dt.date | None = None) -> DemoData:
    """The demo rows, with dates relative to ``today`` (default: the current date)."""
    t = today or dt.date.today()

    def ago(days: int) -> dt.date:
        return t - dt.timedelta(days=days)

    def ahead(days: int) -> dt.date:
        return t + dt.timedelta(days=days)

    customers = (
        CustomerRow(
            customer_id=ANNA,
            name="Anna Schmidt",
            email="anna.schmidt@example.com",
            phone="+4915112345678",
            language="de",
        ),
        CustomerRow(
            customer_id=JOHN, name="John Miller", email="john.miller@example.com", phone="+447700900123", language="en"
        ),
        CustomerRow(
            customer_id=LENA, name="Lena Wagner", email="lena.wagner@example.com", phone="+4917612345670", language="de"
        ),
        CustomerRow(
            customer_id=PRIYA, name="Priya Patel", email="priya.patel@example.com", phone="+447700900456", language="en"
        ),
    )
    orders = (
        OrderRow(
            order_number="10023",
            customer_id=ANNA,
            status=OrderState.SHIPPED,
            ordered_on=ago(3),
            delivered_on=None,
            shipping_fee=D("4.90"),
            items=(_item("GL-KAR-1L", "Glaskaraffe 1 l", "34.90"), _item("GL-TRI-6", "Trinkgläser 6er-Set", "29.90")),
        ),
        OrderRow(
            order_number="10019",
            customer_id=ANNA,
            status=OrderState.DELIVERED,
            ordered_on=ago(16),
            delivered_on=ago(12),
            shipping_fee=D("4.90"),
            items=(_item("LA-LES-02", "Leselampe Messing", "59.00"),),
        ),
        OrderRow(
            order_number="10024",
            customer_id=JOHN,
            status=OrderState.DELIVERED,
            ordered_on=ago(45),
            delivered_on=ago(40),
            shipping_fee=D("4.90"),
            items=(_item("CU-ESP-4", "Espresso cups, set of 4", "24.90"),),
        ),
        OrderRow(
            order_number="10031",
            customer_id=JOHN,
            status=OrderState.PROCESSING,
            ordered_on=ago(1),
            delivered_on=None,
            shipping_fee=D("0.00"),
            items=(_item("BL-WOL-01", "Wool blanket, grey", "79.00"),),
        ),
        OrderRow(
            order_number="10027",
            customer_id=LENA,
            status=OrderState.DELIVERED,
            ordered_on=ago(9),
            delivered_on=ago(5),
            shipping_fee=D("4.90"),
            items=(_item("VA-GLS-30", "Glasvase 30 cm", "49.90"),),
        ),
        OrderRow(
            order_number="10035",
            customer_id=PRIYA,
            status=OrderState.CANCELLED,
            ordered_on=ago(6),
            delivered_on=None,
            shipping_fee=D("4.90"),
            items=(_item("CA-HUR-2", "Hurricane candle holder, pair", "32.00"),),
        ),
    )
    shipments = (
        ShipmentRow(
            order_number="10023",
            carrier="DHL",
            tracking_number="00340434161094015902",
            status=ShipmentState.IN_TRANSIT,
            shipped_on=ago(2),
            eta=ahead(2),
        ),
        ShipmentRow(
            order_number="10019",
            carrier="DPD",
            tracking_number="01505012345678",
            status=ShipmentState.DELIVERED,
            shipped_on=ago(14),
            eta=ago(12),
        ),
        ShipmentRow(
            order_number="10024",
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            status=ShipmentState.DELIVERED,
            shipped_on=ago(43),
            eta=ago(40),
        ),
        ShipmentRow(
            order_number="10027",
            carrier="DHL",
            tracking_number="00340434161094027311",
            status=ShipmentState.DELIVERED,
            shipped_on=ago(7),
            eta=ago(5),
        ),
    )
    returns = (
        ReturnRow(
            return_id="RET-5001",
            order_number="10027",
            status=ReturnState.RECEIVED,
            requested_on=ago(3),
            refund_amount=D("49.90"),
        ),
    )
    contracts = (
        ContractRow(
            policy_number="POL-100234",
            customer_id=ANNA,
            product=Product.HOUSEHOLD_CONTENTS,
            status=ContractState.ACTIVE,
            start_date=dt.date(2024, 3, 1),
            premium=D("12.40"),
            premium_interval="monthly",
            sum_insured=D("65000"),
            notice_period_months=3,
        ),
        ContractRow(
            policy_number="POL-100512",
            customer_id=ANNA,
            product=Product.PERSONAL_LIABILITY,
            status=ContractState.ACTIVE,
            start_date=dt.date(2025, 1, 1),
            premium=D("6.90"),
            premium_interval="monthly",
            sum_insured=D("10000000"),
            notice_period_months=3,
        ),
        ContractRow(
            policy_number="POL-200871",
            customer_id=JOHN,
            product=Product.HOUSEHOLD_CONTENTS,
            status=ContractState.ACTIVE,
            start_date=dt.date(2025, 6, 15),
            premium=D("9.80"),
            premium_interval="monthly",
            sum_insured=D("40000"),
            notice_period_months=3,
        ),
        ContractRow(
            policy_number="POL-200930",
            customer_id=LENA,
            product=Product.PERSONAL_LIABILITY,
            status=ContractState.ACTIVE,
            start_date=dt.date(2023, 10, 1),
            premium=D("79.00"),
            premium_interval="yearly",
            sum_insured=D("10000000"),
            notice_period_months=3,
        ),
    )
    coverage = tuple(
        _household("POL-100234", deductible="150", limit="65000", bike=True, bike_limit="1500")
        + _liability("POL-100512")
        + _household("POL-200871", deductible="250", limit="40000", bike=False, bike_limit="0")
        + _liability("POL-200930")
    )
    claims = (
        ClaimRow(
            claim_number=f"CLM-{ago(19).year}-0001",
            customer_id=ANNA,
            policy_number="POL-100234",
            risk=Risk.WATER_DAMAGE,
            status=ClaimState.AWAITING_DOCUMENTS,
            incident_date=ago(20),
            reported_on=ago(19),
            last_update=ago(4),
            description="Leaking washing machine hose, kitchen floor and base cabinet damaged",
            open_documents=("photos", "repair_estimate"),
        ),
        ClaimRow(
            claim_number=f"CLM-{ago(11).year}-0002",
            customer_id=JOHN,
            policy_number="POL-200871",
            risk=Risk.STORM_HAIL,
            status=ClaimState.IN_REVIEW,
            incident_date=ago(12),
            reported_on=ago(11),
            last_update=ago(2),
            description="Storm broke the balcony door, rain soaked the rug",
            open_documents=(),
        ),
        ClaimRow(
            claim_number=f"CLM-{ago(30).year}-0003",
            customer_id=LENA,
            policy_number="POL-200930",
            risk=Risk.PERSONAL_LIABILITY,
            status=ClaimState.PAID,
            incident_date=ago(33),
            reported_on=ago(30),
            last_update=ago(8),
            description="Dropped a borrowed laptop",
            open_documents=(),
        ),
    )
    return DemoData(
        customers=customers,
        orders=orders,
        shipments=shipments,
        returns=returns,
        contracts=contracts,
        coverage=coverage,
        claims=claims,
    )
