"""What became of every customer message of a fault run: the ledger's state, the replies at the sinks,
duplicates, and the time from acceptance to the final state.

- The **ledger** is the product's own (``services.ledger.classify`` over ``SqlLedger.rows`` and the
  dead-letter stream, exactly as ``compute_ledger`` does), computed per message so every message has
  its state.
- The **sinks** are what a customer received: the mail sink's ``.eml`` files (``var/mail``), the SMS
  sink's JSON files (``var/sms``) and the reply frames on each chat socket (plus the history the chat
  shows on a final reconnect).
- **Final time**: the earliest moment the ledger would call the message final: its reply's outbox
  entry marked sent (``outbox.updated_at``), or a handed_off / awaiting_agent / failed event caused by it.

A reply delivered twice is a **duplicate**: the same text to the same customer more than once at the
mail or SMS sink, or the same reply message id twice on a chat socket.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from services.container import Container
from services.ledger import LedgerState, classify
from tests.support.fault_traffic import Channel, CustomerMessage

__all__ = ["LedgerProbe", "ledger_probe", "Delivery", "read_sinks", "MessageFate", "account", "percentiles"]

_FINAL = frozenset({LedgerState.REPLIED, LedgerState.PERSON, LedgerState.ALARM})


@asynccontextmanager
async def ledger_probe(*, var_dir: Path, redis_url: str, public_url: str) -> AsyncIterator[LedgerProbe]:
    """The product's container on the running stack's database and Redis (no migrations)."""
    from runtime.compose import open_container
    from services.settings import Settings

    settings = Settings(var_dir=var_dir, redis_url=redis_url, public_url=public_url)
    async with open_container(settings, migrate=False) as services:
        yield LedgerProbe(services)


class LedgerProbe:
    def __init__(self, services: Container) -> None:
        self._s = services

    async def states(self, *, since: dt.datetime) -> dict[str, tuple[LedgerState, str]]:
        """Message id -> (ledger state, conversation id), as ``compute_ledger`` classifies them now."""
        now = dt.datetime.now(dt.UTC)
        bound = self._s.settings.ledger_bound_s
        dead = frozenset(str(d.get("message_id")) for d in await self._s.queue.dead_letters(count=10_000))
        return {
            row.message_id: (classify(row, now=now, bound_s=bound, dead_lettered=dead), row.conversation_id)
            for row in await self._s.ledger.rows(since=since)
        }

    @property
    def bound_s(self) -> float:
        return self._s.settings.ledger_bound_s


@dataclass(frozen=True, slots=True)
class Delivery:
    """One reply as the customer received it."""

    channel: Channel
    address: str  # to whom (number, email address, chat session token)
    key: str  # what makes two deliveries the same reply: the body (email, SMS) or the reply id (chat)
    at: float  # wall clock
    detail: str = ""


def _plain_body(raw: bytes) -> tuple[str, str, str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("plain",))
    text = part.get_content() if isinstance(part, EmailMessage) else ""
    return str(parsed.get("To", "")).strip().lower(), str(parsed.get("In-Reply-To", "")).strip(), str(text).strip()


def read_sinks(var_dir: Path, messages: list[CustomerMessage]) -> list[Delivery]:
    out: list[Delivery] = []
    for path in sorted((var_dir / "mail").glob("*.eml")):
        to, in_reply_to, body = _plain_body(path.read_bytes())
        out.append(Delivery(Channel.EMAIL, to, body, path.stat().st_mtime, detail=in_reply_to))
    for path in sorted((var_dir / "sms").glob("*.json")):
        data = json.loads(path.read_text())
        out.append(
            Delivery(
                Channel.SMS,
                str(data.get("to")),
                str(data.get("body")),
                path.stat().st_mtime,
                detail=str(data.get("status_callback", "")),
            )
        )
    for msg in messages:
        if msg.channel is Channel.CHAT and msg.chat_token:
            for frame in msg.chat_replies:
                out.append(
                    Delivery(
                        Channel.CHAT,
                        msg.client_id,
                        str(frame.get("message_id")),
                        float(frame["at"]),
                        detail=str(frame.get("author")),
                    )
                )
    return out


@dataclass
class MessageFate:
    """One customer message from the client's send to its final state."""

    msg: CustomerMessage
    message_id: str | None = None
    conversation_id: str | None = None
    received_at: dt.datetime | None = None
    state: LedgerState | None = None  # None: never stored
    final_at: dt.datetime | None = None
    final_kind: str | None = None  # sent / handed_off / awaiting_agent / failed
    deliveries: list[Delivery] = field(default_factory=list)
    outbound_rows: int = 0  # outbound messages caused by it (reply, notice)
    outbox_states: list[str] = field(default_factory=list)
    chat_history_replies: int = 0

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in Counter(d.key for d in self.deliveries).values())

    @property
    def final_s(self) -> float | None:
        if self.final_at is None or self.received_at is None:
            return None
        return (self.final_at - self.received_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        m = self.msg
        return {
            "index": m.index,
            "channel": m.channel.value,
            "language": m.utterance.language,
            "wants_person": m.utterance.wants_person,
            "client_id": m.client_id,
            "attempts": m.attempts,
            "refusals": m.refusals[:10],
            "client_error": m.error,
            "message_id": self.message_id,
            "state": self.state.value if self.state else None,
            "final_kind": self.final_kind,
            "final_s": None if self.final_s is None else round(self.final_s, 2),
            "deliveries": len(self.deliveries),
            "distinct_replies": len({d.key for d in self.deliveries}),
            "duplicates": self.duplicates,
            "outbound_rows": self.outbound_rows,
            "outbox_states": self.outbox_states,
            "chat_history_replies": self.chat_history_replies,
        }


def _ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _db_rows(db_path: Path, since: dt.datetime) -> tuple[list[sqlite3.Row], list[sqlite3.Row], list[sqlite3.Row]]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    cutoff = since.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    try:
        inbound = db.execute(
            "select id, conversation_id, seq, channel, external_id, json_extract(meta, '$.message_id') as mid, "
            "created_at from messages where direction = 'inbound' and author_kind = 'customer' and created_at >= ?",
            (cutoff,),
        ).fetchall()
        outbound = db.execute(
            "select m.id, m.conversation_id, m.seq, m.causation_id, m.author_kind, o.state, o.updated_at "
            "from messages m left join outbox o on o.message_id = m.id "
            "where m.direction = 'outbound' and m.created_at >= ?",
            (cutoff,),
        ).fetchall()
        events = db.execute(
            "select causation_id, type, min(occurred_at) as at from events where occurred_at >= ? and type in "
            "('handed_off', 'awaiting_agent', 'failed') group by causation_id, type",
            (cutoff,),
        ).fetchall()
    finally:
        db.close()
    return inbound, outbound, events


def account(
    messages: list[CustomerMessage],
    *,
    states: dict[str, tuple[LedgerState, str]],
    db_path: Path,
    deliveries: list[Delivery],
    since: dt.datetime,
) -> list[MessageFate]:
    """Join the client's view, the ledger, the database and the sinks, one fate per customer message."""
    inbound, outbound, events = _db_rows(db_path, since)
    by_key: dict[tuple[str, str], sqlite3.Row] = {}
    for r in inbound:
        if r["channel"] == "sms":
            by_key[("sms", r["external_id"])] = r
        elif r["channel"] == "email" and r["mid"]:
            by_key[("email", r["mid"])] = r
        by_key[("id", r["id"])] = r
    outs_by_conv: dict[str, list[sqlite3.Row]] = {}
    for r in outbound:
        outs_by_conv.setdefault(r["conversation_id"], []).append(r)
    event_at: dict[str, list[tuple[dt.datetime, str]]] = {}
    for r in events:
        at = _ts(r["at"])
        if r["causation_id"] and at is not None:
            event_at.setdefault(r["causation_id"], []).append((at, r["type"]))
    by_address: dict[tuple[Channel, str], list[Delivery]] = {}
    for d in deliveries:
        by_address.setdefault((d.channel, d.address.lower()), []).append(d)
    fates = []
    for msg in messages:
        fate = MessageFate(msg)
        if msg.channel is Channel.CHAT:
            found = by_key.get(("id", msg.message_id or ""))
        else:
            found = by_key.get((msg.channel.value, msg.client_id))
        fate.deliveries = by_address.get(
            (msg.channel, msg.client_id.lower() if msg.channel is Channel.CHAT else msg.address.lower()), []
        )
        fate.chat_history_replies = sum(1 for h in msg.chat_history if h.get("author") in {"ai", "agent", "system"})
        if (row := found) is not None:
            fate.message_id, fate.conversation_id = row["id"], row["conversation_id"]
            fate.received_at = _ts(row["created_at"])
            state = states.get(row["id"])
            fate.state = state[0] if state else None
            later = [o for o in outs_by_conv.get(row["conversation_id"], []) if o["seq"] > row["seq"]]
            fate.outbound_rows = len(later)
            fate.outbox_states = sorted(str(o["state"]) for o in later)
            candidates = [(t, "sent") for o in later if o["state"] == "sent" and (t := _ts(o["updated_at"]))]
            candidates += event_at.get(row["id"], [])
            if candidates and fate.state in _FINAL:
                fate.final_at, fate.final_kind = min(candidates)
        fates.append(fate)
    return fates


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 2)

    return {"n": len(ordered), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(ordered[-1], 2)}
