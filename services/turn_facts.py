"""The facts a routing policy sees for one turn, built from the turn's understanding.

One function for everyone who routes a message: the turn's ``decide`` step and the fairness audit
(``services.fairness``) build their :class:`policies.Facts` here, so the audit measures exactly the
routing customers get. Pure: no I/O, and the clock only through :func:`within_business_hours`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from conversation import ChannelKind
from conversation.calendar import BusinessCalendar, parse_week
from policies import Facts
from understanding import Understanding
from understanding.claim_outcome import claim_outcome_requested
from understanding.language import UNKNOWN_LANGUAGE

__all__ = ["OUT_OF_SCOPE_INTENT", "build_facts", "clip_score", "turn_language", "within_business_hours"]

OUT_OF_SCOPE_INTENT = "out_of_scope"  # the intent fact of a message the model does not place


def clip_score(x: float) -> float:
    """A score fact is between 0 and 1; model outputs are clipped into that range."""
    return max(0.0, min(1.0, float(x)))


def turn_language(understanding: Understanding, *, fallback: str | None) -> str:
    """The language the turn answers in: any language the detector names is kept (the guards send
    unsupported ones to a person); an undecided detection falls back to the conversation's."""
    if understanding.language != UNKNOWN_LANGUAGE:
        return understanding.language
    return fallback or "en"


def within_business_hours(business_hours: str, timezone: str, *, now: dt.datetime | None = None) -> bool:
    """Whether ``now`` (default: the current time) falls in ``business_hours`` (``HH:MM-HH:MM``
    Monday to Friday, or ``mon-fri 08:00-12:30, 13:30-18:00; sat 09:00-13:00``) in ``timezone``. The
    format is checked by ``Settings``. The turn itself asks the calendar in force
    (``services.sla.calendars(settings).default.is_open``), which is this one when no calendars
    file is set."""
    calendar = BusinessCalendar("business_hours", ZoneInfo(timezone), parse_week(business_hours))
    return calendar.is_open(now or dt.datetime.now(dt.UTC))


def build_facts(
    understanding: Understanding,
    *,
    text: str,
    channel: ChannelKind,
    language: str,
    amount: float | None,
    attempts: int,
    business_hours: bool,
    lookup_tools: Sequence[str] = (),
    lookup_unavailable: bool = False,
) -> Facts:
    """The policy facts of one turn. ``text`` is the customer's original message (the claim-outcome
    check reads it; it is not stored in the facts), ``language`` the turn's language
    (:func:`turn_language`), ``amount`` the money the customer named, ``attempts`` the clarifying
    questions asked so far, ``lookup_tools`` the back-office lookups this turn ran,
    ``lookup_unavailable`` whether one of them could not be answered (not "not found": unreachable)."""
    u = understanding
    claim_decision = claim_outcome_requested(text, intent=u.intent, lookup_tools=tuple(lookup_tools))
    return Facts(
        intent=u.intent or OUT_OF_SCOPE_INTENT,
        intent_confidence=round(float(u.confidence), 4),
        out_of_scope=bool(u.out_of_scope),
        channel=channel,
        language=language,
        sentiment=str(u.sentiment),
        sentiment_score=clip_score(0.5 + (u.sentiment_scores.positive - u.sentiment_scores.negative) / 2),
        anger=clip_score(u.emotions.get("anger", 0.0)),
        frustration=clip_score(u.emotions.get("frustration", 0.0)),
        urgency=clip_score(u.emotions.get("urgency", 0.0)),
        amount=amount,
        within_business_hours=business_hours,
        attempts=attempts,
        asked_for_human=bool(u.asked_for_human),
        legal_effect=claim_decision,
        claim_decision=claim_decision,
        lookup_unavailable=lookup_unavailable,
    )
