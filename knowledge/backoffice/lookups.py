"""Typed lookup tools over a ``BackOffice``: scoped, time-boxed, retried, with clear failure types.

``customer_id`` always comes from the engine's identified contact, never from message text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
    Risk,
)
from knowledge.backoffice.port import BackOffice
from knowledge.errors import BackOfficeError, BackOfficeUnavailable, LookupFailed, LookupNotFound

__all__ = ["Lookups", "normalize_order_number", "normalize_policy_number", "normalize_claim_number"]

T = TypeVar("T")

_ORDER = re.compile(r"^#?\s*(\d{4,10})$")
_POLICY = re.compile(r"^POL-?(\d{6})$")
_CLAIM = re.compile(r"^CLM-?(\d{4})-?(\d{4})$")


def normalize_order_number(text: str) -> str | None:
    m = _ORDER.match(text.strip())
    return m.group(1) if m else None


def normalize_policy_number(text: str) -> str | None:
    m = _POLICY.match(text.strip().upper())
    return f"POL-{m.group(1)}" if m else None


def normalize_claim_number(text: str) -> str | None:
    m = _CLAIM.match(text.strip().upper())
    return f"CLM-{m.group(1)}-{m.group(2)}" if m else None


_TOOL_LOOKUP = {"claim_intake": LookupName.FILE_CLAIM.value}  # tool names that are not a lookup's own name


class Lookups:
    """The lookup tools the turn flow calls. Read-only except ``claim_intake`` (a draft, never a decision).

    Each call gets ``timeout`` seconds per attempt and up to ``attempts`` attempts on timeouts and
    transient back-office errors (``BackOfficeUnavailable``); then ``LookupFailed``. A missing
    reference, or one that belongs to another customer, raises the same ``LookupNotFound``.
    """

    def __init__(
        self,
        backoffice: BackOffice,
        *,
        timeout: float = 3.0,
        attempts: int = 3,
        backoff: float = 0.05,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._backoffice = backoffice
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff

    async def aclose(self) -> None:
        """Close the back office behind the tools (connectors' HTTP clients, portal robots' browsers)."""
        close = getattr(self._backoffice, "aclose", None)
        if close is not None:
            await close()

    def connector_of(self, tool: str) -> str:
        """The name of the connector that answers ``tool`` (a ``LookupName`` value): the route's name
        when several back offices are routed, else the back office's own name or class."""
        route_of = getattr(self._backoffice, "route_of", None)
        name = ""
        if route_of is not None:
            try:
                name = str(route_of(LookupName(_TOOL_LOOKUP.get(tool, tool))))
            except ValueError:
                pass
        name = name or str(getattr(self._backoffice, "name", "") or type(self._backoffice).__name__)
        # a class name (an unnamed adapter such as SqlBackOffice) reads as its kind: "sql"
        return name.removesuffix("BackOffice").lower() if name.endswith("BackOffice") else name

    async def _call(self, tool: str, make: Callable[[], Awaitable[T]]) -> T:
        last = ""
        for attempt in range(1, self._attempts + 1):
            try:
                return await asyncio.wait_for(make(), timeout=self._timeout)
            except TimeoutError:
                last = f"timed out after {self._timeout:g}s"
            except BackOfficeUnavailable as exc:
                last = f"back office unavailable ({exc})"
            except BackOfficeError as exc:
                raise LookupFailed(tool, f"back office error ({exc})", attempts=attempt) from exc
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff * attempt)
        raise LookupFailed(tool, last, attempts=self._attempts)

    async def _scoped(
        self, tool: str, kind: str, reference: str, normalized: str | None, make: Callable[[str], Awaitable[T | None]]
    ) -> T:
        if normalized is None:
            raise LookupNotFound(kind, reference)
        result = await self._call(tool, lambda: make(normalized))
        if result is None:
            raise LookupNotFound(kind, reference)
        return result

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        """Link a *verified* channel identity to a back-office customer (``None`` if unknown)."""
        return await self._call("find_customer", lambda: self._backoffice.find_customer(email=email, phone=phone))

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus:
        return await self._scoped(
            "order_status",
            "order",
            order_number,
            normalize_order_number(order_number),
            lambda n: self._backoffice.order_status(customer_id, n),
        )

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        return await self._call("list_orders", lambda: self._backoffice.list_orders(customer_id))

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility:
        return await self._scoped(
            "return_eligibility",
            "order",
            order_number,
            normalize_order_number(order_number),
            lambda n: self._backoffice.return_eligibility(customer_id, n),
        )

    async def contract(self, customer_id: str, policy_number: str) -> Contract:
        return await self._scoped(
            "contract",
            "policy",
            policy_number,
            normalize_policy_number(policy_number),
            lambda n: self._backoffice.contract(customer_id, n),
        )

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        return await self._call("list_contracts", lambda: self._backoffice.list_contracts(customer_id))

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage:
        return await self._scoped(
            "coverage",
            "policy",
            policy_number,
            normalize_policy_number(policy_number),
            lambda n: self._backoffice.coverage(customer_id, n),
        )

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus:
        return await self._scoped(
            "claim_status",
            "claim",
            claim_number,
            normalize_claim_number(claim_number),
            lambda n: self._backoffice.claim_status(customer_id, n),
        )

    async def claim_intake(
        self,
        customer_id: str,
        policy_number: str,
        *,
        risk: Risk,
        incident_date: dt.date,
        description: str,
        idempotency_key: str,
    ) -> ClaimDraft:
        """File a claim DRAFT (status ``draft_pending_human_review``) for a named human to review.

        Never approves, rejects or pays anything. Safe to retry: idempotent on ``idempotency_key``
        (use the inbound message id)."""

        def make(normalized: str) -> Awaitable[ClaimDraft | None]:
            intake = ClaimIntake(
                policy_number=normalized,
                risk=risk,
                incident_date=incident_date,
                description=description,
                idempotency_key=idempotency_key,
            )
            return self._backoffice.file_claim(customer_id, intake)

        return await self._scoped("claim_intake", "policy", policy_number, normalize_policy_number(policy_number), make)
