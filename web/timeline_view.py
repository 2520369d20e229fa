"""The agent's timeline, readable: one sentence per step ("Read as order_status, 92 % sure, German,
sentiment negative"), and the step's raw data (pretty JSON) for whoever opens the toggle.

Customer text never appears here except an internal note's own text (shown as such); every value is
plain text for Jinja to escape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conversation import EventType, TimelineEvent
from services.agent_desk import clean_text
from services.timefmt import TimeFormatter

__all__ = ["event_view", "summarize"]

_MAX_RAW = 4000


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return "?"


def _words(value: Any) -> str:
    return clean_text(str(value or "")).replace("_", " ")[:120]


def _understood(d: dict[str, Any]) -> str:
    if d.get("out_of_scope"):
        head = "Read as out of scope"
    else:
        head = f"Read as {_words(d.get('intent')) or 'no intent'}, {_pct(d.get('confidence'))} sure"
    parts = [head]
    if d.get("language"):
        parts.append(f"language {_words(d['language'])}")
    if d.get("sentiment"):
        parts.append(f"sentiment {_words(d['sentiment'])}")
    if d.get("asked_for_human"):
        parts.append("asked for a person")
    if d.get("pii_kinds"):
        parts.append("personal data redacted before any model: " + ", ".join(_words(k) for k in d["pii_kinds"]))
    return ", ".join(parts)


def _looked_up(d: dict[str, Any]) -> str:
    lookups = [x for x in d.get("lookups") or [] if isinstance(x, dict)]
    parts = [
        f"{_words(x.get('tool'))} {'answered' if x.get('ok') else 'failed'}"
        + (f" ({_words(x.get('connector'))}, {x.get('duration_ms')} ms)" if x.get("connector") else "")
        for x in lookups
    ]
    text = "Looked up " + "; ".join(parts) if parts else "No back-office look-up"
    if not d.get("identified"):
        text += " (no verified customer)"
    articles = d.get("articles") or []
    if articles:
        text += f"; {len(articles)} knowledge article{'s' if len(articles) != 1 else ''} found"
    return text


def _decided(d: dict[str, Any]) -> str:
    return (
        f"Routing rule {_words(d.get('rule_id')) or '?'} (policy version {_words(d.get('policy_version'))}) "
        f"chose: {_words(d.get('route'))}"
    )


def _drafted(d: dict[str, Any]) -> str:
    if not d.get("drafted"):
        return "No draft could be written"
    sources = d.get("sources") or []
    grounded = "grounded in its sources" if d.get("grounded") else "NOT grounded: needs checking"
    return (
        f"Draft written ({_words(d.get('mode'))}), {grounded}, {len(sources)} source{'s' if len(sources) != 1 else ''}"
    )


def _handed_off(d: dict[str, Any]) -> str:
    text = f"Passed to queue {_words(d.get('queue'))}, priority {_words(d.get('priority'))}"
    return text + (f": {_words(d.get('reason'))}" if d.get("reason") else "")


def _received(d: dict[str, Any]) -> str:
    return f"Message received on {_words(d.get('channel')) or 'its channel'}"


def _verified(d: dict[str, Any]) -> str:
    kind = "email address" if d.get("kind") == "email" else "phone number" if d.get("kind") == "phone" else "address"
    return f"The customer proved their {kind} with a one-time code" + (
        " and the contacts were merged" if d.get("merged") else ""
    )


def _by(verb: str) -> Callable[[dict[str, Any]], str]:
    def say(d: dict[str, Any]) -> str:
        return verb + (f" by {_words(d.get('by'))}" if d.get("by") else "")

    return say


_SUMMARIES: dict[EventType, Callable[[dict[str, Any]], str]] = {
    EventType.RECEIVED: _received,
    EventType.UNDERSTOOD: _understood,
    EventType.LOOKED_UP: _looked_up,
    EventType.DECIDED: _decided,
    EventType.DRAFTED: _drafted,
    EventType.AWAITING_AGENT: lambda d: "Waiting for a person to approve the draft",
    EventType.APPROVED: _by("Draft approved"),
    EventType.REJECTED: lambda d: "Draft rejected" + (f": {_words(d.get('reason'))}" if d.get("reason") else ""),
    EventType.SENT: lambda d: "Reply sent",
    EventType.DELIVERY_UPDATED: lambda d: f"Delivery: {_words(d.get('status')) or 'updated'}",
    EventType.DELIVERED: lambda d: "Delivered to the customer",
    EventType.HANDED_OFF: _handed_off,
    EventType.TAKEN_OVER: _by("Taken over"),
    EventType.HANDED_BACK: _by("Handed back to the automation"),
    EventType.NOTE_ADDED: _by("Internal note"),
    EventType.QUARANTINED: lambda d: (
        "A message was quarantined" + (f": {_words(d.get('reason'))}" if d.get("reason") else "")
    ),
    EventType.FAILED: lambda d: "Failed" + (f": {_words(d.get('reason'))}" if d.get("reason") else ""),
    EventType.IDENTITY_VERIFIED: _verified,
}


def summarize(event: TimelineEvent) -> str:
    data = event.data if isinstance(event.data, dict) else {}
    try:
        return _SUMMARIES.get(event.type, lambda d: event.type.value.replace("_", " "))(data)[:400]
    except Exception:  # noqa: BLE001 - an odd payload still gets a line; the raw data shows it
        return event.type.value.replace("_", " ")


def event_view(e: TimelineEvent, fmt: TimeFormatter) -> dict[str, Any]:
    data = e.data or {}
    note = e.type is EventType.NOTE_ADDED
    raw = {k: v for k, v in data.items() if k != "text"}
    return {
        "type": e.type.value.replace("_", " "),
        "kind": e.type.value,
        "actor": e.actor.value,
        "at": e.occurred_at.isoformat(),
        "when": fmt.full(e.occurred_at),
        "note": clean_text(str(data.get("text") or "")) if note else "",
        "by": str(data.get("by") or ""),
        "summary": summarize(e),
        "raw": clean_text(json.dumps(raw, indent=1, ensure_ascii=False, sort_keys=True, default=str))[:_MAX_RAW]
        if raw
        else "",
    }
