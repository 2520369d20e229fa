"""Several back offices behind one port: each lookup goes to the connector its route names (orders to the
shop's REST API, claims to the insurer's portal robot, the rest to SQL...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from knowledge.backoffice.breaker import BreakerState
from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.guard import GuardedBackOffice
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimIntake,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderStatus,
    ReturnEligibility,
)
from knowledge.backoffice.port import BackOffice

__all__ = ["RoutedBackOffice"]


class RoutedBackOffice:
    """Implements ``BackOffice``; every lookup must have a route. ``aclose`` runs ``closers`` in order."""

    def __init__(
        self,
        routes: Mapping[LookupName, BackOffice],
        *,
        connectors: Sequence[GuardedBackOffice] = (),
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        missing = [name for name in LookupName if name not in routes]
        if missing:
            raise ValueError(f"no back office for: {', '.join(missing)}; give every lookup a route")
        self._routes = dict(routes)
        self._connectors = tuple(connectors)
        self._closers = tuple(closers)

    def breaker_states(self) -> dict[str, BreakerState]:
        """Each connector's breaker, for the ops page and health checks."""
        return {c.name: c.breaker.state for c in self._connectors}

    def route_of(self, lookup: LookupName) -> str:
        backoffice = self._routes[lookup]
        return backoffice.name if isinstance(backoffice, GuardedBackOffice) else type(backoffice).__name__

    async def aclose(self) -> None:
        for close in self._closers:
            await close()

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        return await self._routes[LookupName.FIND_CUSTOMER].find_customer(email=email, phone=phone)

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        return await self._routes[LookupName.ORDER_STATUS].order_status(customer_id, order_number)

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        return await self._routes[LookupName.LIST_ORDERS].list_orders(customer_id)

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        return await self._routes[LookupName.RETURN_ELIGIBILITY].return_eligibility(customer_id, order_number)

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        return await self._routes[LookupName.CONTRACT].contract(customer_id, policy_number)

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        return await self._routes[LookupName.LIST_CONTRACTS].list_contracts(customer_id)

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        return await self._routes[LookupName.COVERAGE].coverage(customer_id, policy_number)

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        return await self._routes[LookupName.CLAIM_STATUS].claim_status(customer_id, claim_number)

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        return await self._routes[LookupName.FILE_CLAIM].file_claim(customer_id, intake)
