"""Back-office connectors: the port, a SQL adapter, an in-memory fake, the demo seed and lookup tools; REST and
portal-robot (RPA) connectors declared in YAML, each behind a circuit breaker, routed from one config.

The robot runtime (``knowledge.backoffice.rpa``, ``knowledge.backoffice.browser_pool``) needs Playwright and is
not imported here; ``build_backoffice`` loads it only when a config declares a robot."""

from knowledge.backoffice.breaker import BreakerConfig, BreakerState, CircuitBreaker
from knowledge.backoffice.build import build_backoffice
from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.connectors import (
    ConnectorEntry,
    ConnectorKind,
    ConnectorsConfig,
    ProvidedConnector,
    load_connectors,
    load_connectors_file,
)
from knowledge.backoffice.demo import DemoData, demo_data
from knowledge.backoffice.fake import InMemoryBackOffice
from knowledge.backoffice.guard import GuardedBackOffice
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
from knowledge.backoffice.rest import RestBackOffice
from knowledge.backoffice.rest_config import RestConnector
from knowledge.backoffice.robot import PoolConfig, Robot, RpaConnector
from knowledge.backoffice.robot_reader import load_robot, load_robot_file
from knowledge.backoffice.router import RoutedBackOffice
from knowledge.backoffice.sql import SqlBackOffice, seed_backoffice

__all__ = [
    "RETURN_WINDOW_DAYS",
    "BackOffice",
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
    "ClaimDraft",
    "ClaimIntake",
    "ClaimState",
    "ClaimStatus",
    "ConnectorEntry",
    "ConnectorKind",
    "ConnectorsConfig",
    "Contract",
    "ContractState",
    "Coverage",
    "CoverageItem",
    "Customer",
    "DemoData",
    "GuardedBackOffice",
    "InMemoryBackOffice",
    "LookupName",
    "Lookups",
    "OrderItem",
    "OrderState",
    "OrderStatus",
    "PoolConfig",
    "Product",
    "ProvidedConnector",
    "RestBackOffice",
    "RestConnector",
    "ReturnDecision",
    "ReturnEligibility",
    "ReturnRecord",
    "ReturnState",
    "Risk",
    "Robot",
    "RoutedBackOffice",
    "RpaConnector",
    "Shipment",
    "ShipmentState",
    "SqlBackOffice",
    "build_backoffice",
    "demo_data",
    "load_connectors",
    "load_connectors_file",
    "load_robot",
    "load_robot_file",
    "seed_backoffice",
]
