"""Back-office connectors: the port, a SQL adapter, an in-memory fake, the demo seed and lookup tools."""

from knowledge.backoffice.demo import DemoData, demo_data
from knowledge.backoffice.fake import InMemoryBackOffice
from knowledge.backoffice.lookups import Lookups
from knowledge.backoffice.models import (
    RETURN_WINDOW_DAYS,
    ClaimDraft,
    ClaimIntake,
    ClaimState,
    ClaimStatus,
    Contract,
    ContractState,
    Coverage,
    CoverageItem,
    Customer,
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
from knowledge.backoffice.port import BackOffice
from knowledge.backoffice.sql import SqlBackOffice, seed_backoffice

__all__ = [
    "BackOffice",
    "SqlBackOffice",
    "InMemoryBackOffice",
    "seed_backoffice",
    "DemoData",
    "demo_data",
    "Lookups",
    "RETURN_WINDOW_DAYS",
    "ClaimDraft",
    "ClaimIntake",
    "ClaimState",
    "ClaimStatus",
    "Contract",
    "ContractState",
    "Coverage",
    "CoverageItem",
    "Customer",
    "OrderItem",
    "OrderState",
    "OrderStatus",
    "Product",
    "ReturnDecision",
    "ReturnEligibility",
    "ReturnRecord",
    "ReturnState",
    "Risk",
    "Shipment",
    "ShipmentState",
]
