"""Accounting for bench/scale_out.py, from the system of record (PostgreSQL), the workers' logs, the SMS
sink's files and the chat frames the clients received.

- Which worker ran a turn: each ``glassdesk worker`` logs its steps through Prefect's run logger
  (``prefect.task_runs <step> msg_…: …``, ids only) into its own log file; a turn belongs to the worker
  whose log names it in a step after ``load_turn`` (a redelivered, already finished turn logs only
  ``load_turn``).
- When a turn ran: from the system of record, its first step event (``understood``) to its first
  finishing event (``sent`` / ``handed_off`` / ``awaiting_agent``), and, more tightly, from the run logger's
  first and last step line in the worker's log (load to outcome, under the lease).
- Duplicate replies: AI replies per inbound message in the store, provider calls per outbox entry at the
  SMS sink (the status callback URL names the outbox entry), reply frames per reply on the chat sockets."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _scale_traffic import Conversation

DONE_EVENTS = ("sent", "handed_off", "awaiting_agent")
STEP_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ (?:prefect\.task_runs|glassdesk\.steps) (\w+) (msg_[A-Za-z0-9_-]+)\b"
)


@dataclass
class Turn:
    message_id: str
    conversation_id: str
    external_id: str
    received_at: float
    started_at: float | None = None  # first step event
    done_at: float | None = None  # first finishing event
    route: str | None = None
    ai_replies: int = 0
    workers: tuple[str, ...] = ()
    log_span: tuple[float, float] | None = None  # first..last step line in its worker's log


def _ts(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


async def _fetch(dsn: str, external_ids: list[str]) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        inbound = await conn.fetch(
            "select id, conversation_id, external_id, created_at from messages "
            "where direction = 'inbound' and external_id = any($1::text[])",
            external_ids,
        )
        ids = [r["id"] for r in inbound]
        events = await conn.fetch(
            "select causation_id, type, occurred_at from events where causation_id = any($1::text[])", ids
        )
        outbound = await conn.fetch(
            "select id, causation_id, author_kind from messages "
            "where direction = 'outbound' and causation_id = any($1::text[])",
            ids,
        )
        outbox = await conn.fetch(
            "select id, message_id, state, provider_id from outbox where message_id = any($1::text[])",
            [r["id"] for r in outbound],
        )
        decisions = await conn.fetch(
            "select inbound_message_id, route from decisions where inbound_message_id = any($1::text[])", ids
        )
    finally:
        await conn.close()
    return {"inbound": inbound, "events": events, "outbound": outbound, "outbox": outbox, "decisions": decisions}


def fetch_records(dsn: str, external_ids: list[str]) -> dict[str, Any]:
    return asyncio.run(_fetch(dsn, external_ids))


def worker_lines(logs: dict[str, Path]) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """Per message id, per worker: the (time, step) of every step line."""
    out: dict[str, dict[str, list[tuple[float, str]]]] = defaultdict(lambda: defaultdict(list))
    for worker, path in logs.items():
        for line in path.read_text(errors="replace").splitlines():
            m = STEP_LINE.match(line)
            if m:
                at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()
                out[m.group(3)][worker].append((at, m.group(2)))
    return out


def build_turns(records: dict[str, Any], lines: dict[str, dict[str, list[tuple[float, str]]]]) -> list[Turn]:
    turns = {
        r["id"]: Turn(r["id"], r["conversation_id"], r["external_id"], _ts(r["created_at"])) for r in records["inbound"]
    }
    for e in records["events"]:
        t = turns.get(e["causation_id"])
        if t is None or e["type"] == "received":
            continue
        at = _ts(e["occurred_at"])
        t.started_at = at if t.started_at is None else min(t.started_at, at)
        if e["type"] in DONE_EVENTS:
            t.done_at = at if t.done_at is None else min(t.done_at, at)
    for d in records["decisions"]:
        if d["inbound_message_id"] in turns:
            turns[d["inbound_message_id"]].route = d["route"]
    for o in records["outbound"]:
        if o["author_kind"] == "ai" and o["causation_id"] in turns:
            turns[o["causation_id"]].ai_replies += 1
    for mid, t in turns.items():
        per_worker = lines.get(mid, {})
        ran = sorted(w for w, steps in per_worker.items() if any(step != "load_turn" for _, step in steps))
        t.workers = tuple(ran)
        if len(ran) == 1:
            times = [at for at, _ in per_worker[ran[0]]]
            t.log_span = (min(times), max(times))
    return list(turns.values())


def overlaps(turns: list[Turn], *, span: str) -> dict[str, Any]:
    """Pairs of turns of one conversation whose run intervals overlap (``span``: "events" or "log")."""
    by_conv: dict[str, list[tuple[float, float, Turn]]] = defaultdict(list)
    for t in turns:
        if span == "events" and t.started_at is not None and t.done_at is not None:
            by_conv[t.conversation_id].append((t.started_at, t.done_at, t))
        elif span == "log" and t.log_span is not None:
            by_conv[t.conversation_id].append((t.log_span[0], t.log_span[1], t))
    pairs, cross_worker = 0, 0
    examples: list[dict[str, Any]] = []
    for items in by_conv.values():
        items.sort(key=lambda x: x[0])
        for i, (_s1, e1, t1) in enumerate(items):
            for s2, _e2, t2 in items[i + 1 :]:
                if s2 >= e1:
                    break
                pairs += 1
                cross_worker += t1.workers != t2.workers
                if len(examples) < 5:
                    examples.append(
                        {"conversation": t1.conversation_id, "turns": [t1.message_id, t2.message_id],
                         "workers": [list(t1.workers), list(t2.workers)], "overlap_ms": round((e1 - s2) * 1000, 1)}
                    )  # fmt: skip
    return {
        "conversations_checked": len(by_conv),
        "turns_checked": sum(len(v) for v in by_conv.values()),
        "overlapping_pairs": pairs,
        "overlapping_pairs_on_two_workers": cross_worker,
        "examples": examples,
    }


def sms_sink_calls(sms_dir: Path, numbers: set[str]) -> dict[str, Any]:
    """Provider calls the SMS sink received for these numbers, per outbox entry."""
    per_outbox: Counter[str] = Counter()
    per_number: Counter[str] = Counter()
    for path in sms_dir.glob("*.json") if sms_dir.exists() else []:
        data = json.loads(path.read_text())
        if data.get("to") not in numbers:
            continue
        per_number[data["to"]] += 1
        outbox = parse_qs(urlsplit(data.get("status_callback") or "").query).get("outbox", ["?"])[0]
        per_outbox[outbox] += 1
    return {"per_outbox": per_outbox, "per_number": per_number}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def account(
    conversations: list[Conversation], records: dict[str, Any], turns: list[Turn], sink: dict[str, Any]
) -> dict[str, Any]:
    """The phase's figures: counts, spread over workers, overlaps, duplicates and throughput."""
    sent = [m for c in conversations for m in c.messages]
    accepted = [m for m in sent if m.accepted_wall is not None]
    done = [t for t in turns if t.done_at is not None]
    per_worker = Counter(t.workers[0] if len(t.workers) == 1 else ("+".join(t.workers) or "none") for t in turns)
    convs_by_workers: Counter[int] = Counter()
    workers_of_conv: dict[str, set[str]] = defaultdict(set)
    for t in turns:
        workers_of_conv[t.conversation_id].update(t.workers)
    for ws in workers_of_conv.values():
        convs_by_workers[len(ws)] += 1
    # duplicates
    sor_dupes = sum(1 for t in turns if t.ai_replies > 1)
    outbox_of_msg = Counter(o["message_id"] for o in records["outbox"])
    sms_calls: Counter[str] = sink["per_outbox"]
    sms_dupes = sum(n - 1 for n in sms_calls.values() if n > 1)
    sms_sent_entries = sum(1 for o in records["outbox"] if o["state"] == "sent" and o["id"] in sms_calls)
    chat_push: Counter[str] = Counter()
    chat_replies_seen = 0
    for c in conversations:
        if c.kind != "chat":
            continue
        pushes = Counter(f["message_id"] for f in c.reply_frames if f["from"] == "push")
        chat_push.update(pushes)
        chat_replies_seen += len({f["message_id"] for f in c.reply_frames})
    chat_dupes = sum(n - 1 for n in chat_push.values() if n > 1)
    chat_inbound = sum(len(c.messages) for c in conversations if c.kind == "chat")
    history_ai = sum(c.history_ai or 0 for c in conversations if c.kind == "chat")
    # throughput: first acceptance to last finished turn, and the rate between the 10th and 90th
    # percentile finishing times (the sustained rate, without start-up and tail)
    t0 = min((m.accepted_wall for m in accepted if m.accepted_wall is not None), default=0.0)
    done_times = sorted(t.done_at for t in done if t.done_at is not None)
    elapsed = (done_times[-1] - t0) if done_times else None
    p10, p90 = pct(done_times, 0.1), pct(done_times, 0.9)
    sustained = (0.8 * len(done_times)) / (p90 - p10) if p10 is not None and p90 is not None and p90 > p10 else None
    latency = [(t.done_at - t.received_at) * 1000 for t in done if t.done_at is not None]
    return {
        "conversations": len(conversations),
        "messages_sent": len(sent),
        "messages_accepted": len(accepted),
        "client_errors": [e for c in conversations for e in c.errors][:10]
        + [f"{m.client_id}: {m.error}" for m in sent if m.error][:10],
        "stored_inbound": len(turns),
        "turns_finished": len(done),
        "routes": dict(Counter(t.route or "none" for t in turns)),
        "turns_per_worker": dict(sorted(per_worker.items())),
        "conversations_by_number_of_workers": {str(k): v for k, v in sorted(convs_by_workers.items())},
        "overlap_sor_events": overlaps(turns, span="events"),
        "overlap_worker_logs": overlaps(turns, span="log"),
        "duplicates": {
            "inbound_with_more_than_one_ai_reply": sor_dupes,
            "outbox_entries_per_reply_max": max(outbox_of_msg.values(), default=0),
            "sms_provider_calls": sum(sms_calls.values()),
            "sms_outbox_entries_sent": sms_sent_entries,
            "sms_duplicate_provider_calls": sms_dupes,
            "chat_reply_pushes": sum(chat_push.values()),
            "chat_duplicate_pushes": chat_dupes,
            "chat_inbound": chat_inbound,
            "chat_distinct_replies_seen_live": chat_replies_seen,
            "chat_ai_replies_in_final_history": history_ai,
            "total_duplicate_replies": sor_dupes + sms_dupes + chat_dupes,
        },
        "throughput": {
            "turns_per_s_first_accept_to_last_done": round(len(done_times) / elapsed, 2) if elapsed else None,
            "turns_per_s_sustained_p10_p90": round(sustained, 2) if sustained else None,
            "elapsed_s": round(elapsed, 2) if elapsed else None,
            "accept_to_done_ms": {
                "p50": round(pct(latency, 0.5) or 0, 1),
                "p90": round(pct(latency, 0.9) or 0, 1),
                "max": round(max(latency, default=0), 1),
            },
        },
    }
