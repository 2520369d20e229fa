"""List a customer's claims (with their state) for the agent's customer panel.

The ``BackOffice`` port answers one claim by number; listing is optional. A back office that offers
``list_claims(customer_id)`` (the shipped SQL back office does) is asked; any other answers None: it
cannot list, and the panel then shows only the claims the customer's own conversations named.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

from knowledge.backoffice.models import ClaimStatus

__all__ = ["ClaimLister", "list_claims"]


@runtime_checkable
class ClaimLister(Protocol):
    def list_claims(self, customer_id: str) -> Awaitable[tuple[ClaimStatus, ...]]: ...


async def list_claims(backoffice: object, customer_id: str) -> tuple[ClaimStatus, ...] | None:
    """The customer's claims, newest report first, or None when this back office cannot list them."""
    if isinstance(backoffice, ClaimLister):
        return tuple(await backoffice.list_claims(customer_id))
    return None
