"""The conversation core: ids, enums, models, events, ports and errors. Everything stands on this."""

from conversation.addresses import Address, ChatSession, EmailAddress, PhoneAddress, address_key
from conversation.delivery import advance_delivery, is_terminal
from conversation.disclosure import AI_HEADER, AI_HEADER_VALUE, ai_disclosure, human_hint
from conversation.enums import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EventType,
    FeedbackKind,
    Intent,
    OutboxState,
    Priority,
    Route,
)
from conversation.errors import (
    DeliveryError,
    GlassdeskError,
    InboundParseError,
    InboundRejected,
    LockLost,
    LockNotAcquired,
    NotFound,
    OutcomeUnknown,
    PermanentDeliveryError,
    ServiceUnavailable,
    StoreUnavailable,
    TransientDeliveryError,
    VersionConflict,
)
from conversation.ids import new_id, new_token
from conversation.models import (
    Attachment,
    ChannelIdentity,
    Contact,
    Conversation,
    DecisionRecord,
    InboundMessage,
    IngestResult,
    LookupRecord,
    Message,
    OutboundMessage,
    TimelineEvent,
    TurnRef,
    utcnow,
)

__all__ = [
    "Address", "ChatSession", "EmailAddress", "PhoneAddress", "address_key",
    "advance_delivery", "is_terminal",
    "AI_HEADER", "AI_HEADER_VALUE", "ai_disclosure", "human_hint",
    "ActorKind", "AuthorKind", "ChannelKind", "ConversationStatus", "DeliveryStatus", "Direction",
    "EventType", "FeedbackKind", "Intent", "OutboxState", "Priority", "Route",
    "DeliveryError", "GlassdeskError", "InboundParseError", "InboundRejected", "LockLost", "LockNotAcquired",
    "NotFound", "OutcomeUnknown", "PermanentDeliveryError", "ServiceUnavailable", "StoreUnavailable",
    "TransientDeliveryError", "VersionConflict",
    "new_id", "new_token",
    "Attachment", "ChannelIdentity", "Contact", "Conversation", "DecisionRecord", "IngestResult",
    "InboundMessage", "LookupRecord", "Message", "OutboundMessage", "TimelineEvent", "TurnRef", "utcnow",
]
