"""What one turn carries from step to step, in memory only (never a Prefect parameter or result
that is persisted: tasks run with persistence and caching off)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conversation import Contact, Conversation, DecisionRecord, LookupRecord, Message
from services.container import Container, TurnKit

if TYPE_CHECKING:
    from knowledge.drafting import Draft
    from policies import Decision
    from understanding import Understanding

__all__ = ["TurnDeps", "TurnWork", "TurnOutcome"]


@dataclass(frozen=True, slots=True)
class TurnDeps:
    """The composition root's objects a turn uses: the process container and the turn kit."""

    services: Container
    kit: TurnKit


@enum.unique
class TurnOutcome(enum.StrEnum):
    AUTO_REPLIED = "auto_replied"
    AWAITING_AGENT = "awaiting_agent"
    HANDED_OFF = "handed_off"
    CLARIFIED = "asked_clarification"
    HUMAN_IN_CHARGE = "human_in_charge"
    ALREADY_DONE = "already_done"
    REPLY_QUEUED = "reply_queued"  # the channel is down: the outbox sends it when it is back
    DELIVERY_UNSURE = "delivery_unsure"  # the reply may have gone out; the callback or a person settles it
    DEFERRED = "deferred"  # another worker holds the conversation: queued again, run after it


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
    understanding: Understanding | None = None
    redacted_text: str = ""
    pii_mapping: dict[str, str] = field(default_factory=dict)  # per-turn; never leaves the engine
    language: str = "en"
    # look-ups
    hits: list[Any] = field(default_factory=list)  # knowledge.Hit
    lookups: list[Any] = field(default_factory=list)  # knowledge.drafting.LookupResult
    lookup_records: list[LookupRecord] = field(default_factory=list)
    amount: float | None = None
    # decision and draft
    decision: Decision | None = None
    record: DecisionRecord | None = None
    draft: Draft | None = None
    draft_failure: str | None = None  # why drafting failed (for the agent), when it did
    outcome: TurnOutcome | None = None
