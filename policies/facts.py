"""The typed facts a policy can look at, and what kind of value each one holds.

Values of :class:`Channel`, :class:`Sentiment`, :class:`Route` and :class:`Priority` equal the
ones in ``conversation.enums`` (they are ``StrEnum``); ``policies`` stays free of other imports.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from conversation.enums import ChannelKind

__all__ = [
    "Channel",
    "Sentiment",
    "CustomerTier",
    "FactKind",
    "FactSpec",
    "FACTS",
    "Facts",
]


Channel = ChannelKind  # the policy language's name for the core's channel enum (one enum, not a copy)


@enum.unique
class Sentiment(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@enum.unique
class CustomerTier(enum.StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


@enum.unique
class FactKind(enum.StrEnum):
    TEXT = "text"  # free string: intent, language
    CHOICE = "choice"  # one value of a closed set
    SCORE = "score"  # float between 0 and 1
    AMOUNT = "amount"  # float >= 0, may be missing
    COUNT = "count"  # int >= 0
    FLAG = "flag"  # bool
    TAGS = "tags"  # set of strings


class FactSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FactKind
    choices: tuple[str, ...] = ()
    description: str = ""


Score = Annotated[float, Field(ge=0.0, le=1.0)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Facts(BaseModel):
    """What understanding and lookups found out about one inbound turn. No PII in here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: NonEmpty
    intent_confidence: Score
    channel: Channel
    out_of_scope: bool = False
    language: NonEmpty = "en"
    sentiment: Sentiment = Sentiment.NEUTRAL
    sentiment_score: Score = 0.5
    anger: Score = 0.0
    frustration: Score = 0.0
    urgency: Score = 0.0
    customer_tier: CustomerTier = CustomerTier.STANDARD
    amount: Annotated[float, Field(ge=0.0)] | None = None
    within_business_hours: bool = True
    attempts: Annotated[int, Field(ge=0)] = 0
    asked_for_human: bool = False
    tags: frozenset[NonEmpty] = frozenset()
    legal_effect: bool = False
    claim_decision: bool = False
    # a back-office lookup this turn needed could not be answered (the system was down, timed out,
    # or its breaker is open): no automatic answer without the facts
    lookup_unavailable: bool = False


def _choices(enum_type: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


FACTS: dict[str, FactSpec] = {
    "intent": FactSpec(kind=FactKind.TEXT, description="classified intent, e.g. order_status"),
    "intent_confidence": FactSpec(kind=FactKind.SCORE, description="classifier confidence"),
    "out_of_scope": FactSpec(kind=FactKind.FLAG, description="message is outside what we handle"),
    "language": FactSpec(kind=FactKind.TEXT, description="detected language code, e.g. de"),
    "sentiment": FactSpec(kind=FactKind.CHOICE, choices=_choices(Sentiment)),
    "sentiment_score": FactSpec(kind=FactKind.SCORE, description="0 negative .. 1 positive"),
    "anger": FactSpec(kind=FactKind.SCORE),
    "frustration": FactSpec(kind=FactKind.SCORE),
    "urgency": FactSpec(kind=FactKind.SCORE),
    "channel": FactSpec(kind=FactKind.CHOICE, choices=_choices(Channel)),
    "customer_tier": FactSpec(kind=FactKind.CHOICE, choices=_choices(CustomerTier)),
    "amount": FactSpec(kind=FactKind.AMOUNT, description="money at stake; missing if none"),
    "within_business_hours": FactSpec(kind=FactKind.FLAG),
    "attempts": FactSpec(kind=FactKind.COUNT, description="automated attempts so far"),
    "asked_for_human": FactSpec(kind=FactKind.FLAG),
    "tags": FactSpec(kind=FactKind.TAGS),
    "legal_effect": FactSpec(kind=FactKind.FLAG, description="turn would decide with legal effect"),
    "claim_decision": FactSpec(kind=FactKind.FLAG, description="turn would decide a claim"),
    "lookup_unavailable": FactSpec(kind=FactKind.FLAG, description="a back-office system could not be reached"),
}
