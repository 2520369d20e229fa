"""A back office behind its connector's circuit breaker, with failures mapped to the error tree.

- breaker open: :class:`ConnectorUnavailable` (``breaker_open``) at once, the adapter is not called;
- ``TimeoutError`` (the optional ``budget_seconds`` ran out): ``ConnectorUnavailable`` (``timeout``);
- ``ConnectorUnavailable`` and ``BackOfficeError``/``BackOfficeUnavailable`` pass through unchanged
  (``Lookups`` retries the transient SQL ones) and count as failures, like any other exception;
- an answer, including "not found" (``None``), is a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from knowledge.backoffice.breaker import CircuitBreaker
from knowledge.backoffice.catalog import LookupName
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
from knowledge.errors import ConnectorFailure, ConnectorUnavailable, LookupFailed

__all__ = ["GuardedBackOffice"]

T = TypeVar("T")


class GuardedBackOffice:
    """Implements ``BackOffice`` over ``inner`` for the connector ``name``."""

    def __init__(
        self, name: str, inner: BackOffice, breaker: CircuitBreaker, *, budget_seconds: float | None = None
    ) -> None:
        self.name = name
        self.breaker = breaker
        self._inner = inner
        self._budget = budget_seconds

    async def _call(self, tool: LookupName, make: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.allow():
            raise ConnectorUnavailable(self.name, ConnectorFailure.BREAKER_OPEN, tool=tool, attempts=0)
        try:
            async with asyncio.timeout(self._budget):
                result = await make()
        except asyncio.CancelledError:
            self.breaker.abandoned()
            raise
        except TimeoutError as exc:
            self.breaker.failed()
            raise ConnectorUnavailable(
                self.name, ConnectorFailure.TIMEOUT, tool=tool, detail=f"no answer within {self._budget:g}s"
            ) from exc
        except ConnectorUnavailable:
            self.breaker.failed()
            raise
        except LookupFailed:  # a lookup this connector does not serve: says nothing about its health
            self.breaker.abandoned()
            raise
        except Exception:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        return await self._call(LookupName.FIND_CUSTOMER, lambda: self._inner.find_customer(email=email, phone=phone))

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        return await self._call(LookupName.ORDER_STATUS, lambda: self._inner.order_status(customer_id, order_number))

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        return await self._call(LookupName.LIST_ORDERS, lambda: self._inner.list_orders(customer_id))

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        return await self._call(
            LookupName.RETURN_ELIGIBILITY, lambda: self._inner.return_eligibility(customer_id, order_number)
        )

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        return await self._call(LookupName.CONTRACT, lambda: self._inner.contract(customer_id, policy_number))

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        return await self._call(LookupName.LIST_CONTRACTS, lambda: self._inner.list_contracts(customer_id))

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        return await self._call(LookupName.COVERAGE, lambda: self._inner.coverage(customer_id, policy_number))

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        return await self._call(LookupName.CLAIM_STATUS, lambda: self._inner.claim_status(customer_id, claim_number))

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        return await self._call(LookupName.FILE_CLAIM, lambda: self._inner.file_claim(customer_id, intake))
