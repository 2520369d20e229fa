"""Drafting's vocabulary: intents it can answer, the draft it returns, the lookups it reads."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimStatus,
    Contract,
    Coverage,
    OrderStatus,
    ReturnEligibility,
)

__all__ = ["DraftIntent", "DraftMode", "Draft", "LookupResult"]

LookupResult = OrderStatus | ReturnEligibility | Contract | Coverage | ClaimStatus | ClaimDraft


@enum.unique
class DraftIntent(enum.StrEnum):
    ORDER_STATUS = "order_status"
    SHIPPING = "shipping"
    RETURN_REQUEST = "return_request"
    REFUND = "refund"
    INVOICE = "invoice"
    PAYMENT = "payment"
    DAMAGED_GOODS = "damaged_goods"
    COMPLAINT = "complaint"
    COVERAGE_QUESTION = "coverage_question"
    CLAIM_REPORT = "claim_report"
    CLAIM_STATUS = "claim_status"
    CONTRACT_INFO = "contract_info"
    CONTRACT_CHANGE = "contract_change"
    CANCELLATION = "cancellation"
    GENERAL = "general"


@enum.unique
class DraftMode(enum.StrEnum):
    COMPOSER = "composer"
    LLM = "llm"


class Draft(BaseModel):
    """A reply draft. ``grounded=False`` means it must go to an agent, never out (the caller enforces)."""

    model_config = ConfigDict(frozen=True)

    text: str
    sources: tuple[str, ...]
    confidence: float
    mode: DraftMode
    grounded: bool
    problems: tuple[str, ...] = ()
