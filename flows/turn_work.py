"""What one turn carries from step to step, in memory only (never a Prefect parameter or result
that is persisted: tasks run with persistence and caching off)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conversation import Contact, Conversation, DecisionRecord, LookupRecord, Message

__all__ = ["TurnWork", "TurnOutcome"]


@dataclass
class TurnWork:
    message_id: str
    conversation_id: str
    message: Message | None = None
    conversation: Conversation | None = None
    contact: Contact | None = None
    customer_id: str | None = None  # back-office customer, only from a verified identity
    identity_verified: bool = False
    human_in_charge: bool = False
    attempts: int = 0
    # understanding (no raw PII in these fields)
    understanding: Any = None
    redacted_text: str = ""
    pii_mapping: dict[str, str] = field(default_factory=dict)  # per-turn; never leaves the engine
    language: str = "en"
    # look-ups
    hits: list[Any] = field(default_factory=list)
    lookups: list[Any] = field(default_factory=list)
    lookup_records: list[LookupRecord] = field(default_factory=list)
    amount: float | None = None
    # decision and draft
    decision: Any = None
    record: DecisionRecord | None = None
    draft: Any = None
    outcome: str = ""


class TurnOutcome:
    AUTO_REPLIED = "auto_replied"
    AWAITING_AGENT = "awaiting_agent"
    HANDED_OFF = "handed_off"
    CLARIFIED = "asked_clarification"
    HUMAN_IN_CHARGE = "human_in_charge"
    ALREADY_DONE = "already_done"
