"""The agent inbox: queues, a conversation with its whole history, the AI draft with its decision
record, the actions (JSON API, CSRF-checked) and live updates (server-sent events, ids only).

Customer content is text: it is cleaned of control and bidi-override characters, rendered only
through Jinja's autoescape (and ``textContent`` in ``inbox.js``), and links are never made clickable.
Unknown, malformed and forbidden ids all get the same ``404 {"detail": "Not Found"}``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conversation import (
    AuthorKind,
    ConversationStatus,
    DecisionRecord,
    EventType,
    NotFound,
    OutcomeUnknown,
    PermanentDeliveryError,
    TransientDeliveryError,
    utcnow,
)
from conversation.sql.desk import DeskQueries, DeskRow
from services.agent_desk import (
    AgentDesk,
    DeskActor,
    DeskBusy,
    DeskConflict,
    RejectReason,
    clean_text,
    known_intents,
    pending_draft,
)
from services.container import Container
from web.auth import Role, Staff, require, require_write
from web.bodies import read_capped
from web.pages import render

__all__ = ["router", "SLA_DUE_SOON", "CONVERSATION_VIEWED"]

router = APIRouter(tags=["inbox"])

SLA_DUE_SOON = timedelta(minutes=30)
CONVERSATION_VIEWED = "inbox.conversation_viewed"  # audit action, beside services.agent_desk's inbox.* actions
_ID = re.compile(r"[a-z]{1,8}_[A-Za-z0-9]{8,64}")
_KEEPALIVE_S = 15.0
_MAX_BODY = 64 * 1024
_AUTHOR = {AuthorKind.CUSTOMER: "Customer", AuthorKind.AI: "AI", AuthorKind.AGENT: "Agent", AuthorKind.SYSTEM: "System"}
_REASON_LABELS = {
    RejectReason.WRONG_INTENT: "Wrong intent",
    RejectReason.WRONG_FACTS: "Wrong facts",
    RejectReason.MISSING_KNOWLEDGE: "Missing knowledge",
    RejectReason.TONE: "Tone",
    RejectReason.POLICY: "Against policy",
    RejectReason.OTHER: "Other",
}

agent = require(Role.AGENT)
agent_write = require_write(Role.AGENT)


# -- request bodies ---------------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoBody(_Body):
    pass


class HandBack(_Body):
    answer_unanswered: bool = True  # False: keep the conversation when customer messages wait for an answer


class EditedReply(_Body):
    text: str = Field(min_length=1, max_length=5000)


class Rejection(_Body):
    reason: RejectReason
    comment: str = Field("", max_length=1000)


class AgentReply(_Body):
    text: str = Field(min_length=1, max_length=5000)
    client_id: uuid.UUID  # one send per id: a double click or a retried request sends once


class Note(_Body):
    text: str = Field(min_length=1, max_length=1000)


class IntentCorrection(_Body):
    intent: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")


B = TypeVar("B", bound=_Body)


async def _body(request: Request, model: type[B]) -> B:
    """Parsed after the role and CSRF checks, so nobody learns anything from a 422 without a session."""
    raw = await read_capped(request, _MAX_BODY)
    try:
        data = json.loads(raw or b"{}")
        return model.model_validate(data)
    except json.JSONDecodeError:
        raise HTTPException(status_code=422, detail="the body is not JSON") from None
    except ValidationError as exc:
        raise HTTPException(
            status_code=422, detail=[{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None


# -- plumbing -------------------------------------------------------------------------------------
def _services(request: Request) -> Container:
    services: Container = request.app.state.services
    return services


def _desk(request: Request) -> AgentDesk:
    return AgentDesk(_services(request))


def _queries(request: Request) -> DeskQueries:
    return DeskQueries(_services(request).db)


def _actor(staff: Staff) -> DeskActor:
    return DeskActor(username=staff.username, display_name=staff.display_name)


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise HTTPException(status_code=404, detail="Not Found")
    return value


@contextlib.asynccontextmanager
async def _answering() -> AsyncIterator[None]:
    """Domain errors as HTTP answers a person can act on."""
    try:
        yield
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    except (DeskConflict, DeskBusy) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except TransientDeliveryError:
        raise HTTPException(
            status_code=503,
            detail="The channel did not answer. Nothing was lost: the reply is "
            "queued and goes out by itself as soon as the channel is back.",
        ) from None
    except OutcomeUnknown:
        raise HTTPException(
            status_code=502,
            detail="The channel did not confirm the reply; it may have reached the "
            "customer. It is not sent again: check the timeline before "
            "writing again.",
        ) from None
    except PermanentDeliveryError as exc:
        raise HTTPException(
            status_code=502,
            detail=f"The channel refused the reply: {exc}. Reject the draft or take the conversation over.",
        ) from None


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts else ""


def _sla(due: datetime | None, now: datetime) -> dict[str, str] | None:
    if due is None:
        return None
    if due <= now:
        return {"state": "breached", "label": "SLA breached", "at": due.isoformat(), "text": _fmt(due)}
    if due - now <= SLA_DUE_SOON:
        return {"state": "due", "label": "SLA due soon", "at": due.isoformat(), "text": _fmt(due)}
    return {"state": "ok", "label": "SLA", "at": due.isoformat(), "text": _fmt(due)}


def _row(r: DeskRow, now: datetime) -> dict[str, Any]:
    return {
        "id": r.conversation_id,
        "url": f"/inbox/c/{r.conversation_id}",
        "contact": clean_text(r.contact_name or "")[:200] or "Unknown customer",
        "channel": r.channel.value,
        "status": r.status.value,
        "status_label": "awaiting approval" if r.status is ConversationStatus.AWAITING_AGENT else "with a person",
        "queue": r.queue,
        "priority": r.priority.value,
        "assignee": r.assignee or "",
        "sla": _sla(r.sla_due_at, now),
        "preview": clean_text(r.preview)[:240],
        "updated": _fmt(r.updated_at),
    }


async def _listing(request: Request, queue: str | None) -> dict[str, Any]:
    if queue is not None and (len(queue) > 64 or not re.fullmatch(r"[\w.-]+", queue)):
        queue = None
    q = _queries(request)
    now = utcnow()
    queues = await q.queues(now=now)
    rows = await q.waiting(queue=queue)
    return {
        "queues": [{"name": c.queue, "waiting": c.waiting, "breached": c.breached} for c in queues],
        "rows": [_row(r, now) for r in rows],
        "queue": queue or "",
    }


# -- pages ------------------------------------------------------------------------------------------
@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, queue: str | None = None, staff: Staff = Depends(agent)) -> HTMLResponse:
    return render(request, "inbox.html", staff, title="Inbox", **await _listing(request, queue))


@router.get("/api/inbox/conversations")
async def inbox_list(request: Request, queue: str | None = None, staff: Staff = Depends(agent)) -> dict[str, Any]:
    return await _listing(request, queue)


@router.get("/inbox/gaps", response_class=HTMLResponse)
async def gaps_page(request: Request, staff: Staff = Depends(agent)) -> HTMLResponse:
    q = _queries(request)
    gaps = [
        {
            "label": g.label,
            "count": g.count,
            "last": _fmt(g.last_at),
            "examples": [clean_text(e)[:500] for e in g.examples],
        }
        for g in await q.knowledge_gaps()
    ]
    counts = await q.feedback_counts()
    return render(request, "inbox_gaps.html", staff, title="Knowledge gaps", gaps=gaps, counts=counts)


@router.get("/inbox/c/{conversation_id}", response_class=HTMLResponse)
async def conversation_page(request: Request, conversation_id: str, staff: Staff = Depends(agent)) -> HTMLResponse:
    _check_id(conversation_id)
    s = _services(request)
    async with _answering():
        conv = await s.messages.get_conversation(conversation_id)
    # who read which conversation: the audit log keeps the agent and the id, never the content
    await s.audit.record(
        actor=staff.username, action=CONVERSATION_VIEWED, object_id=conv.id, data={"role": staff.role.value}
    )
    contact = await s.messages.contact_for(conv.id)
    identities = await s.messages.identities_of(contact.id)
    history = await _queries(request).contact_history(contact.id)
    decisions = await s.timeline.decisions_of(conv.id)
    by_inbound = {d.inbound_message_id: d for d in decisions}
    events = await s.timeline.list_events(conv.id)
    draft = pending_draft(decisions) if conv.status is ConversationStatus.AWAITING_AGENT else None
    now = utcnow()
    mine = conv.assignee == staff.username
    corrected = await _desk(request).corrections(conv.id)
    waiting = (
        {m.id for m in await _desk(request).unanswered(conv.id)}
        if conv.status is ConversationStatus.HANDED_OFF
        else set()
    )
    messages = []
    for m in history:
        decision = by_inbound.get(m.id)
        messages.append(
            {
                "id": m.id,
                "conversation_id": m.conversation_id,
                "this_conversation": m.conversation_id == conv.id,
                "channel": m.channel.value,
                "direction": m.direction.value,
                "author": m.author_kind.value,
                "author_label": _AUTHOR[m.author_kind],
                "author_id": m.author_id or "",
                "approved_by": str(m.meta.get("approved_by") or ""),
                "text": clean_text(m.text),
                "subject": clean_text(str(m.meta.get("subject") or ""))[:300],
                "attachments": [clean_text(a.filename) for a in m.attachments],
                "at": m.created_at.isoformat(),
                "when": _fmt(m.created_at),
                "delivery": m.delivery_status.value if m.delivery_status else "",
                "customer": m.author_kind is AuthorKind.CUSTOMER,
                "unanswered": m.id in waiting,
                "intent": (
                    corrected[m.id][1]
                    if m.id in corrected
                    else str(decision.facts.get("intent") or "")
                    if decision
                    else ""
                ),
                "corrected": m.id in corrected,
                "confidence": _pct(decision.facts.get("intent_confidence")) if decision else "",
            }
        )
    return render(
        request,
        "inbox_conversation.html",
        staff,
        title=f"Conversation {conv.id}",
        conv={
            "id": conv.id,
            "channel": conv.channel.value,
            "status": conv.status.value,
            "status_label": conv.status.value.replace("_", " "),
            "queue": conv.queue or "",
            "priority": conv.priority.value,
            "assignee": conv.assignee or "",
            "language": conv.language or "",
            "sla": _sla(conv.sla_due_at, now)
            if conv.status in (ConversationStatus.AWAITING_AGENT, ConversationStatus.HANDED_OFF)
            else None,
        },
        contact={
            "name": clean_text(contact.display_name or "")[:200] or "Unknown customer",
            "identities": [
                {"kind": i.address.kind, "value": clean_text(_address_text(i.address)), "verified": i.verified}
                for i in identities
            ],
        },
        conversation_ids=sorted({m["conversation_id"] for m in messages} | {conv.id}),
        messages=messages,
        draft=_decision_view(draft) if draft else None,
        decisions=[_decision_view(d) for d in reversed(decisions)],
        events=[_event_view(e) for e in events],
        intents=known_intents(),
        reasons=[(r.value, _REASON_LABELS[r]) for r in RejectReason],
        can_take_over=conv.status is not ConversationStatus.CLOSED
        and not (conv.status is ConversationStatus.HANDED_OFF and conv.assignee),
        can_hand_back=conv.status is ConversationStatus.HANDED_OFF and (mine or not conv.assignee),
        can_reply=conv.status is ConversationStatus.HANDED_OFF and mine,
        unanswered=len(waiting),
        new_reply_id=str(uuid.uuid4()),
    )


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return ""


def _address_text(address: Any) -> str:
    return str(
        getattr(address, "address", None)
        or getattr(address, "number", None)
        or getattr(address, "session_id", "")
        or ""
    )


def _decision_view(d: DecisionRecord) -> dict[str, Any]:
    facts = d.facts
    return {
        "id": d.id,
        "inbound_message_id": d.inbound_message_id,
        "route": d.route.value.replace("_", " "),
        "rule_id": d.rule_id,
        "policy_version": d.policy_version,
        "reason": clean_text(d.reason),
        "intent": str(facts.get("intent") or "none"),
        "intent_confidence": _pct(facts.get("intent_confidence")),
        "out_of_scope": bool(facts.get("out_of_scope")),
        "sentiment": str(facts.get("sentiment") or ""),
        "sources": [clean_text(s) for s in d.sources],
        "lookups": [
            {"tool": lk.tool, "source_id": clean_text(lk.source_id), "ok": lk.ok, "summary": clean_text(lk.summary)}
            for lk in d.lookups
        ],
        "draft_mode": d.draft_mode or "",
        "model": d.model or "",
        "draft_confidence": _pct(d.confidence),
        "draft_text": clean_text(str(facts.get("draft_text") or "")),
        "draft_grounded": facts.get("draft_grounded"),
        "draft_problems": [clean_text(str(p)) for p in facts.get("draft_problems") or []],
        "await_reason": clean_text(str(facts.get("await_reason") or "")),
        "draft_state": str(facts.get("draft_state") or ""),
        "reject_reason": str(facts.get("reject_reason") or ""),
        "approved_by": d.approved_by or "",
        "approved_at": _fmt(d.approved_at),
        "created": _fmt(d.created_at),
        "handoff_summary": clean_text(str(facts.get("handoff_summary") or "")),
    }


def _event_view(e: Any) -> dict[str, Any]:
    data = e.data or {}
    note = e.type is EventType.NOTE_ADDED
    details = {k: v for k, v in data.items() if k != "text" and isinstance(v, (str, int, float, bool))}
    return {
        "type": e.type.value.replace("_", " "),
        "kind": e.type.value,
        "actor": e.actor.value,
        "at": e.occurred_at.isoformat(),
        "when": _fmt(e.occurred_at),
        "note": clean_text(str(data.get("text") or "")) if note else "",
        "by": str(data.get("by") or ""),
        "details": ", ".join(f"{k}: {clean_text(str(v))[:80]}" for k, v in details.items() if k != "by")[:300],
    }


# -- actions ----------------------------------------------------------------------------------------
def _ok(**extra: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **extra})


@router.post("/api/conversations/{conversation_id}/approve")
async def approve(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    await _body(request, NoBody)
    async with _answering():
        msg = await _desk(request).approve(conversation_id, actor=_actor(staff))
    return _ok(message_id=msg.id)


@router.post("/api/conversations/{conversation_id}/send-edited")
async def send_edited(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, EditedReply)
    async with _answering():
        msg = await _desk(request).send_edited(conversation_id, body.text, actor=_actor(staff))
    return _ok(message_id=msg.id)


@router.post("/api/conversations/{conversation_id}/reject")
async def reject(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, Rejection)
    async with _answering():
        await _desk(request).reject(conversation_id, body.reason, comment=body.comment, actor=_actor(staff))
    return _ok()


@router.post("/api/conversations/{conversation_id}/take-over")
async def take_over(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    await _body(request, NoBody)
    async with _answering():
        await _desk(request).take_over(conversation_id, actor=_actor(staff))
    return _ok()


@router.post("/api/conversations/{conversation_id}/hand-back")
async def hand_back(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, HandBack)
    async with _answering():
        queued = await _desk(request).hand_back(
            conversation_id, actor=_actor(staff), answer_unanswered=body.answer_unanswered
        )
    return JSONResponse({"ok": True, "queued_turns": queued})


@router.post("/api/conversations/{conversation_id}/reply")
async def reply(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, AgentReply)
    async with _answering():
        msg = await _desk(request).reply(conversation_id, body.text, client_id=str(body.client_id), actor=_actor(staff))
    return _ok(message_id=msg.id)


@router.post("/api/conversations/{conversation_id}/notes")
async def add_note(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, Note)
    async with _answering():
        await _desk(request).add_note(conversation_id, body.text, actor=_actor(staff))
    return _ok()


@router.post("/api/messages/{message_id}/intent")
async def correct_intent(request: Request, message_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(message_id)
    body = await _body(request, IntentCorrection)
    async with _answering():
        feedback_id = await _desk(request).correct_intent(message_id, body.intent, actor=_actor(staff))
    return _ok(feedback_id=feedback_id)


# -- live -------------------------------------------------------------------------------------------
@router.get("/api/inbox/events")
async def inbox_events(request: Request, staff: Staff = Depends(agent)) -> StreamingResponse:
    """Server-sent events for every conversation: only the id and the kind; the page re-fetches."""
    bus = _services(request).bus

    async def stream() -> AsyncIterator[bytes]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

        async def pump() -> None:
            async for payload in bus.subscribe(None):
                with contextlib.suppress(asyncio.QueueFull):  # a slow browser just re-fetches later
                    queue.put_nowait(payload)

        task = asyncio.create_task(pump(), name="inbox-events")
        try:
            yield b"retry: 3000\n: connected\n\n"
            while not await request.is_disconnected():
                if task.done() and queue.empty():
                    return  # the live subscription broke: end the stream, EventSource reconnects (retry: 3000)
                try:
                    payload = await asyncio.wait_for(queue.get(), _KEEPALIVE_S if not task.done() else 0.1)
                except TimeoutError:
                    if not task.done():
                        yield b": keepalive\n\n"
                    continue
                cid = payload.get("conversation_id")
                if not isinstance(cid, str) or not _ID.fullmatch(cid):
                    continue
                kind = str(payload.get("event") or "")
                kind = kind if re.fullmatch(r"[a-z_]{1,40}", kind) else "changed"
                yield f"data: {json.dumps({'conversation_id': cid, 'event': kind})}\n\n".encode()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
