"""Closed sets of the conversation model. Compare against these, never against bare strings."""

from __future__ import annotations

import enum

__all__ = [
    "Intent",
    "ChannelKind",
    "Direction",
    "AuthorKind",
    "ConversationStatus",
    "EventType",
    "Route",
    "Priority",
    "DeliveryStatus",
    "OutboxState",
    "ActorKind",
    "FeedbackKind",
]


@enum.unique
class ChannelKind(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"


@enum.unique
class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@enum.unique
class AuthorKind(enum.StrEnum):
    CUSTOMER = "customer"
    AI = "ai"
    AGENT = "agent"
    SYSTEM = "system"


@enum.unique
class ConversationStatus(enum.StrEnum):
    OPEN = "open"  # automation may answer
    AWAITING_AGENT = "awaiting_agent"  # a draft waits for approval
    HANDED_OFF = "handed_off"  # in a human queue; automation stays out
    CLOSED = "closed"


@enum.unique
class EventType(enum.StrEnum):
    """The steps a customer can watch on the status page. Past tense: they happened."""

    RECEIVED = "received"
    UNDERSTOOD = "understood"
    LOOKED_UP = "looked_up"
    DECIDED = "decided"
    DRAFTED = "drafted"
    AWAITING_AGENT = "awaiting_agent"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    DELIVERY_UPDATED = "delivery_updated"
    DELIVERED = "delivered"  # the provider confirmed the reply reached the customer (SMS status callback)
    HANDED_OFF = "handed_off"
    TAKEN_OVER = "taken_over"
    HANDED_BACK = "handed_back"
    NOTE_ADDED = "note_added"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    IDENTITY_VERIFIED = "identity_verified"  # the customer proved an email address or phone number (one-time code)


@enum.unique
class ActorKind(enum.StrEnum):
    """Who did a step: the status page says plainly whether an AI or a person acted."""

    AI = "ai"
    HUMAN = "human"
    SYSTEM = "system"


@enum.unique
class Route(enum.StrEnum):
    AUTO_REPLY = "auto_reply"
    DRAFT_FOR_APPROVAL = "draft_for_approval"
    HANDOFF = "handoff"
    ASK_CLARIFICATION = "ask_clarification"


@enum.unique
class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


@enum.unique
class DeliveryStatus(enum.StrEnum):
    """Provider delivery states (Twilio's set). See :mod:`conversation.delivery` for the order."""

    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIALLY_DELIVERED = "partially_delivered"
    RECEIVED = "received"  # inbound messages


@enum.unique
class OutboxState(enum.StrEnum):
    PENDING = "pending"  # written, not yet handed to the provider
    SENDING = "sending"  # a worker claimed it; the provider call may or may not have happened
    SENT = "sent"  # the provider accepted it and we hold its id
    FAILED = "failed"  # permanently refused
    AMBIGUOUS = "ambiguous"  # crashed between call and commit and could not reconcile: a human decides


@enum.unique
class FeedbackKind(enum.StrEnum):
    """What a person taught the system (the ``feedback`` table): retraining and knowledge gaps use it."""

    INTENT_CORRECTION = "intent_correction"
    DRAFT_EDIT = "draft_edit"
    DRAFT_REJECTED = "draft_rejected"
    KNOWLEDGE_GAP = "knowledge_gap"


@enum.unique
class Intent(enum.StrEnum):
    """The intents the engine acts on (look-ups, drafting). A trained model may know more labels;
    those have no special handling and are answered from the knowledge base or by a person."""

    ORDER_STATUS = "order_status"
    DELIVERY_PROBLEM = "delivery_problem"
    RETURN_REQUEST = "return_request"
    INVOICE_QUESTION = "invoice_question"
    COMPLAINT = "complaint"
    COVERAGE_QUESTION = "coverage_question"
    CLAIM_REPORT = "claim_report"
    CLAIM_STATUS = "claim_status"
    CONTRACT_CHANGE = "contract_change"
    GENERAL_QUESTION = "general_question"
    SMALL_TALK = "small_talk"
    WANTS_HUMAN = "wants_human"

    @classmethod
    def parse(cls, label: str | None) -> Intent | None:
        """The known intent for a model label; None for out-of-scope or a label we do not act on."""
        try:
            return cls(label) if label else None
        except ValueError:
            return None
