"""The back-office port. Every lookup is scoped to ``customer_id``, which the caller takes from the
engine's identified contact, never from message text. A reference that belongs to another customer
is answered exactly like one that does not exist: ``None``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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

__all__ = ["BackOffice"]


@runtime_checkable
class BackOffice(Protocol):
    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        """The customer with this verified email or E.164 phone, if any."""

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None: ...

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        """The customer's orders, newest first."""

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None: ...

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None: ...

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]: ...

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None: ...

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None: ...

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        """Store a claim draft for human review (idempotent on ``intake.idempotency_key``).
        ``None`` when the policy is not the customer's."""
