"""The agent inbox: queues, a conversation with its whole history, the AI draft with its decision
record, the actions (JSON API, CSRF-checked) and live updates (server-sent events, ids only).

Lists: views (waiting for people, mine, unassigned, per queue, every state), full-text search (words,
order and claim numbers, names, addresses, ticket numbers), sorting by priority, SLA or last update, and
keyset pages. Every time is shown in the operator's zone (``GLASSDESK_TIMEZONE``, ``services.timefmt``).

Customer content is text: it is cleaned of control and bidi-override characters, rendered only
through Jinja's autoescape (and ``textContent`` in ``inbox.js``), and links are never made clickable.
Unknown, malformed and forbidden ids all get the same ``404 {"detail": "Not Found"}``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from conversation import (
    AuthorKind,
    ConversationStatus,
    DecisionRecord,
    NotFound,
    OutcomeUnknown,
    PermanentDeliveryError,
    TransientDeliveryError,
    utcnow,
)
from conversation.sql.desk import BadCursor, DeskQueries, DeskRow, DeskSort, DeskState, DeskView
from conversation.sql.desk_store import DeskStore
from services.agent_desk import (
    ASSIGNABLE_ROLES,
    CANNED_VARIABLES,
    AgentDesk,
    DeskActor,
    DeskBusy,
    DeskConflict,
    RejectReason,
    ReplyFile,
    clean_text,
    known_intents,
    pending_draft,
)
from services.container import Container
from services.timefmt import TimeFormatter
from web.attachments import attachment_response, human_size, previewable
from web.auth import Role, Staff, require, require_write
from web.bodies import read_capped
from web.customer_panel import panel_view, read_panel
from web.customer_panel import router as customer_panel_router
from web.pages import render
from web.service_view import service_view
from web.timeline_view import event_view

__all__ = ["router", "SLA_DUE_SOON", "CONVERSATION_VIEWED"]

router = APIRouter(tags=["inbox"])

SLA_DUE_SOON = timedelta(minutes=30)
CONVERSATION_VIEWED = "inbox.conversation_viewed"  # audit action, beside services.agent_desk's inbox.* actions
ATTACHMENT_OPENED = "inbox.attachment_opened"
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
admin = require(Role.ADMIN)
admin_write = require_write(Role.ADMIN)
_STATE_LABELS = {
    DeskState.OPEN: "open",
    DeskState.PENDING: "pending (waiting on the customer)",
    DeskState.SNOOZED: "snoozed",
    DeskState.RESOLVED: "resolved",
    DeskState.CLOSED: "closed",
}
_VIEWS = ("all", "mine", "unassigned")
_QUEUE_NAME = re.compile(r"[\w.-]{1,64}")


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


class StateChange(_Body):
    state: DeskState
    snoozed_until: str | None = Field(None, max_length=40)  # the operator's local time, YYYY-MM-DDTHH:MM


class Assignment(_Body):
    username: str = Field(min_length=1, max_length=64)


class QueueMove(_Body):
    queue: str = Field(min_length=1, max_length=64)


class CannedText(_Body):
    title: str = Field(min_length=1, max_length=120)
    language: str = Field(pattern=r"^(de|en)$")
    text: str = Field(min_length=1, max_length=5000)
    id: str | None = Field(None, max_length=80)


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


def _clock(request: Request) -> TimeFormatter:
    return TimeFormatter.for_zone(request.app.state.settings.timezone)


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
    except BadCursor as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
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


def _left(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60} min left" if minutes >= 60 else f"{minutes} min left"


def _sla(
    due: datetime | None, now: datetime, fmt: TimeFormatter, *, remaining_s: float | None = None
) -> dict[str, str] | None:
    if due is None:
        if remaining_s is None:
            return None
        return {"state": "paused", "label": "SLA paused", "at": "", "text": _left(remaining_s)}
    if due <= now:
        return {"state": "breached", "label": "SLA breached", "at": due.isoformat(), "text": fmt.full(due)}
    if due - now <= SLA_DUE_SOON:
        return {"state": "due", "label": "SLA due soon", "at": due.isoformat(), "text": fmt.full(due)}
    return {"state": "ok", "label": "SLA", "at": due.isoformat(), "text": fmt.full(due)}


def _state_label(state: DeskState, snoozed_until: datetime | None, fmt: TimeFormatter) -> str:
    if state is DeskState.SNOOZED and snoozed_until is not None:
        return f"snoozed until {fmt.full(snoozed_until)}"
    return _STATE_LABELS[state]


def _row(r: DeskRow, now: datetime, fmt: TimeFormatter) -> dict[str, Any]:
    waiting_label = "awaiting approval" if r.status is ConversationStatus.AWAITING_AGENT else "with a person"
    return {
        "id": r.conversation_id,
        "url": f"/inbox/c/{r.conversation_id}",
        "ticket": r.ticket,
        "contact": clean_text(r.contact_name or "")[:200] or "Unknown customer",
        "channel": r.channel.value,
        "status": r.status.value,
        "status_label": waiting_label if r.status.value in ("awaiting_agent", "handed_off") else "automation",
        "desk_state": r.desk_state.value,
        "state_label": _state_label(r.desk_state, r.snoozed_until, fmt),
        "can_resolve": r.desk_state not in (DeskState.RESOLVED, DeskState.CLOSED)
        and r.status is not ConversationStatus.AWAITING_AGENT,
        "queue": r.queue,
        "priority": r.priority.value,
        "assignee": r.assignee or "",
        "sla": _sla(r.sla_due_at, now, fmt, remaining_s=r.sla_remaining_s),
        "preview": clean_text(r.preview)[:240],
        "updated": fmt.full(r.updated_at),
        "updated_at": r.updated_at.isoformat(),
    }


def _view_of(
    staff: Staff, *, state: str | None, view: str | None, queue: str | None, q: str | None, sort: str | None
) -> tuple[DeskView, dict[str, str]]:
    """The list's query parameters, each checked (an unknown value falls back to the default), and
    the normalised values for the page's links and form."""
    search = clean_text(q or "").strip()[:200]
    if state in {s.value for s in DeskState} or state == "any":
        state_value = str(state)
    else:
        state_value = "any" if search else "open"
    view_value = view if view in _VIEWS else "all"
    queue_value = queue if queue and _QUEUE_NAME.fullmatch(queue) else ""
    sort_value = sort if sort in {s.value for s in DeskSort} else DeskSort.PRIORITY.value
    desk_view = DeskView(
        state=None if state_value == "any" else DeskState(state_value),
        queue=queue_value or None,
        assignee=staff.username if view_value == "mine" else "" if view_value == "unassigned" else None,
        search=search,
        sort=DeskSort(sort_value),
    )
    return desk_view, {"state": state_value, "view": view_value, "queue": queue_value, "q": search, "sort": sort_value}


async def _listing(
    request: Request,
    staff: Staff,
    *,
    state: str | None = None,
    view: str | None = None,
    queue: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    desk_view, params = _view_of(staff, state=state, view=view, queue=queue, q=q, sort=sort)
    if cursor and len(cursor) <= 400:
        desk_view = replace(desk_view, cursor=cursor)
    queries = _queries(request)
    fmt = _clock(request)
    now = utcnow()
    queues = await queries.queues(now=now)
    async with _answering():
        page = await queries.page(desk_view, now=now)
    counts = await queries.view_counts(staff.username, now=now)
    kept = {
        k: v
        for k, v in params.items()
        if v and (k, v) not in {("state", "open"), ("view", "all"), ("sort", "priority")}
    }
    return {
        "queues": [{"name": c.queue, "waiting": c.waiting, "breached": c.breached} for c in queues],
        "rows": [_row(r, now, fmt) for r in page.rows],
        "queue": params["queue"],
        "params": params,
        "counts": counts,
        "next_url": ("/inbox?" + urlencode({**kept, "cursor": page.next_cursor})) if page.next_cursor else "",
        "first_url": ("/inbox?" + urlencode(kept)) if cursor else "",
        "states": [
            ("open", "Waiting for people"),
            *[(s.value, _STATE_LABELS[s]) for s in DeskState if s is not DeskState.OPEN],
            ("any", "Every state"),
        ],
        "sorts": [("priority", "Priority, then SLA"), ("sla", "SLA due first"), ("updated", "Last update")],
        "timezone": fmt.name,
    }


# -- pages ------------------------------------------------------------------------------------------
@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    queue: str | None = None,
    state: str | None = None,
    view: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    staff: Staff = Depends(agent),
) -> HTMLResponse:
    listing = await _listing(request, staff, state=state, view=view, queue=queue, q=q, sort=sort, cursor=cursor)
    return render(request, "inbox.html", staff, title="Inbox", **listing)


@router.get("/api/inbox/conversations")
async def inbox_list(
    request: Request,
    queue: str | None = None,
    state: str | None = None,
    view: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    staff: Staff = Depends(agent),
) -> dict[str, Any]:
    return await _listing(request, staff, state=state, view=view, queue=queue, q=q, sort=sort, cursor=cursor)


@router.get("/inbox/gaps", response_class=HTMLResponse)
async def gaps_page(request: Request, staff: Staff = Depends(agent)) -> HTMLResponse:
    q = _queries(request)
    gaps = [
        {
            "label": g.label,
            "count": g.count,
            "last": _clock(request).full(g.last_at),
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
    panel = await read_panel(request, conv.id)
    history = await _queries(request).contact_history(contact.id)
    decisions = await s.timeline.decisions_of(conv.id)
    by_inbound = {d.inbound_message_id: d for d in decisions}
    events = await s.timeline.list_events(conv.id)
    draft = pending_draft(decisions) if conv.status is ConversationStatus.AWAITING_AGENT else None
    now = utcnow()
    fmt = _clock(request)
    desk_row = await _queries(request).row(conv.id, now=now)
    desk_state = desk_row.desk_state if desk_row else DeskState.OPEN
    agents = sorted(u.username for u in await s.users.all() if u.role in ASSIGNABLE_ROLES)
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
                "attachments": [_attachment_view(m.conversation_id, m.id, a) for a in m.attachments],
                "media_note": _media_note(m.meta),
                "at": m.created_at.isoformat(),
                "when": fmt.full(m.created_at),
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
            "sla": _sla(conv.sla_due_at, now, fmt, remaining_s=desk_row.sla_remaining_s if desk_row else None)
            if conv.status in (ConversationStatus.AWAITING_AGENT, ConversationStatus.HANDED_OFF)
            else None,
            "ticket": desk_row.ticket if desk_row else "",
            "desk_state": desk_state.value,
            "state_label": _state_label(desk_state, desk_row.snoozed_until if desk_row else None, fmt),
        },
        contact={
            "name": clean_text(contact.display_name or panel.name or "")[:200] or "Unknown customer",
            "identities": [
                {"kind": i.address.kind, "value": clean_text(_address_text(i.address)), "verified": i.verified}
                for i in identities
            ],
        },
        conversation_ids=sorted({m["conversation_id"] for m in messages} | {conv.id}),
        messages=messages,
        panel=panel_view(panel, conversation_id=conv.id, channel=conv.channel.value, fmt=fmt),
        service=await service_view(s, conv.id, fmt),  # the handoff reason, the outcomes, the SLA timers
        seen_at=now.isoformat(),  # the server's clock: "unread" compares it with the list's updated_at
        draft=_decision_view(draft, fmt) if draft else None,
        decisions=[_decision_view(d, fmt) for d in reversed(decisions)],
        events=[_event_view(e, fmt) for e in events],
        intents=known_intents(),
        reasons=[(r.value, _REASON_LABELS[r]) for r in RejectReason],
        can_take_over=conv.status is not ConversationStatus.CLOSED
        and not (conv.status is ConversationStatus.HANDED_OFF and conv.assignee),
        can_hand_back=conv.status is ConversationStatus.HANDED_OFF and (mine or not conv.assignee),
        can_reply=conv.status is ConversationStatus.HANDED_OFF and mine,
        unanswered=len(waiting),
        new_reply_id=str(uuid.uuid4()),
        attach=_attach_view(conv.channel.value, s.settings),
        lifecycle=_lifecycle_actions(desk_state, conv.status),
        agents=agents,
        queues=await _queries(request).known_queues(),
        snooze_default=fmt.local(now + timedelta(days=1)).strftime("%Y-%m-%dT09:00"),
        timezone=fmt.name,
    )


def _attachment_view(conversation_id: str, message_id: str, a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": clean_text(a.filename)[:255],
        "size": human_size(a.size),
        "url": f"/inbox/c/{conversation_id}/messages/{message_id}/attachments/{a.id}",
        "preview": previewable(a),
    }


def _attach_view(channel: str, settings: Any) -> dict[str, Any]:
    """What the reply form offers for files: email and chat carry them, SMS does not."""
    if channel == "sms":
        return {"allowed": False, "reason": "SMS replies carry text only: files cannot be attached here."}
    if settings.attachment_max_files <= 0:
        return {"allowed": False, "reason": ""}
    return {
        "allowed": True,
        "max_files": settings.attachment_max_files,
        "max_bytes": settings.attachment_max_bytes,
        "max_size": human_size(settings.attachment_max_bytes),
        "reason": "",
    }


def _media_note(meta: dict[str, Any]) -> str:
    """What became of MMS media that is not (yet) an attachment (services.media_fetch)."""
    failed = [m for m in meta.get("media") or [] if isinstance(m, dict) and m.get("fetch") == "failed"]
    waiting = [m for m in meta.get("media") or [] if isinstance(m, dict) and not m.get("fetch")]
    notes = []
    if failed:
        reasons = "; ".join(clean_text(str(m.get("error") or "unknown reason"))[:200] for m in failed)
        notes.append(f"{len(failed)} media file(s) could not be fetched from Twilio ({reasons}).")
    if waiting:
        notes.append(f"{len(waiting)} media file(s) not fetched yet.")
    return " ".join(notes)


def _lifecycle_actions(state: DeskState, status: ConversationStatus) -> list[tuple[str, str]]:
    """The lifecycle buttons that fit: (target state, label)."""
    if state is DeskState.CLOSED:
        return []
    if status is ConversationStatus.AWAITING_AGENT:
        return []  # decide on the draft first
    labels = {
        DeskState.RESOLVED: "Resolve",
        DeskState.PENDING: "Set pending",
        DeskState.OPEN: "Reopen",
        DeskState.CLOSED: "Close",
    }
    return [(target.value, label) for target, label in labels.items() if target is not state]


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


def _decision_view(d: DecisionRecord, fmt: TimeFormatter) -> dict[str, Any]:
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
            {
                "tool": lk.tool,
                "source_id": clean_text(lk.source_id),
                "ok": lk.ok,
                "summary": clean_text(lk.summary),
                "connector": clean_text(lk.connector),
                "duration_ms": lk.duration_ms,
            }
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
        "approved_at": fmt.full(d.approved_at),
        "created": fmt.full(d.created_at),
        "handoff_summary": clean_text(str(facts.get("handoff_summary") or "")),
    }


def _event_view(e: Any, fmt: TimeFormatter) -> dict[str, Any]:
    return event_view(e, fmt)


# -- actions ----------------------------------------------------------------------------------------
def _ok(**extra: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **extra})


@router.get("/inbox/c/{conversation_id}/messages/{message_id}/attachments/{attachment_id}")
async def open_attachment(
    request: Request, conversation_id: str, message_id: str, attachment_id: str, staff: Staff = Depends(agent)
) -> Response:
    """One attachment of one message, from the blob store with the safe headers (web.attachments)."""
    for value in (conversation_id, message_id, attachment_id):
        _check_id(value)
    s = _services(request)
    async with _answering():
        msg = await s.messages.get_message(message_id)
    found = next((a for a in msg.attachments if a.id == attachment_id), None)
    if msg.conversation_id != conversation_id or found is None:
        raise HTTPException(status_code=404, detail="Not Found")
    response = await attachment_response(s.blobs, found, max_bytes=s.settings.attachment_max_bytes)
    await s.audit.record(
        actor=staff.username,
        action=ATTACHMENT_OPENED,
        object_id=conversation_id,
        data={"message_id": message_id, "attachment_id": attachment_id},
    )
    return response


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
    """JSON ``{text, client_id}``, or multipart/form-data with ``text``, ``client_id`` and ``files``
    (at most ``attachment_max_files`` of at most ``attachment_max_bytes`` each)."""
    _check_id(conversation_id)
    files: list[ReplyFile] = []
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body, files = await _multipart_reply(request)
    else:
        body = await _body(request, AgentReply)
    async with _answering():
        msg = await _desk(request).reply(
            conversation_id, body.text, client_id=str(body.client_id), actor=_actor(staff), files=files
        )
    return _ok(message_id=msg.id, attachments=len(msg.attachments))


async def _multipart_reply(request: Request) -> tuple[AgentReply, list[ReplyFile]]:
    """The reply form with files, bounded while it streams in and while it is parsed."""
    settings = _services(request).settings
    max_files, max_bytes = settings.attachment_max_files, settings.attachment_max_bytes
    try:
        raw = await read_capped(
            request, max_files * max_bytes + _MAX_BODY, what=f"replies with files (at most {max_files} files)"
        )
    except RuntimeError:  # the form was read already (a CSRF token sent as a form field)
        raise HTTPException(
            status_code=400, detail="Send the CSRF token in the X-CSRF-Token header with files."
        ) from None

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield raw

    parser = MultiPartParser(request.headers, chunks(), max_files=max_files, max_fields=4, max_part_size=_MAX_BODY)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        detail = str(exc.message)
        if "files" in detail.lower() and "maximum" in detail.lower():
            detail = f"Attach at most {max_files} files to one reply."
        raise HTTPException(status_code=422, detail=detail) from None
    try:
        files: list[ReplyFile] = []
        for item in form.getlist("files"):
            if not isinstance(item, UploadFile):
                raise HTTPException(status_code=422, detail="files: send files, not text")
            content = await item.read()
            name = clean_text(item.filename or "").strip()[:255] or "attachment"
            if len(content) > max_bytes:
                raise HTTPException(
                    status_code=413,
                    detail=f"{name} is {len(content)} bytes; a file on a reply may have up to {max_bytes} "
                    "bytes (GLASSDESK_ATTACHMENT_MAX_BYTES).",
                )
            if not content:
                raise HTTPException(status_code=422, detail=f"{name} is empty; choose the file again.")
            files.append(ReplyFile(filename=name, content_type=item.content_type or "", content=content))
        fields = {k: form.get(k) for k in ("text", "client_id") if isinstance(form.get(k), str)}
        try:
            body = AgentReply.model_validate(fields)
        except ValidationError as exc:
            raise HTTPException(
                status_code=422,
                detail=[{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()],
            ) from None
        return body, files
    finally:
        await form.close()


@router.post("/api/conversations/{conversation_id}/notes")
async def add_note(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, Note)
    async with _answering():
        await _desk(request).add_note(conversation_id, body.text, actor=_actor(staff))
    return _ok()


@router.post("/api/conversations/{conversation_id}/state")
async def change_state(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    """Resolve, set pending, snooze until a time (the operator's zone), reopen or close."""
    _check_id(conversation_id)
    body = await _body(request, StateChange)
    until = None
    if body.state is DeskState.SNOOZED:
        if not body.snoozed_until:
            raise HTTPException(status_code=422, detail="Choose when the snooze ends (snoozed_until).")
        try:
            until = _clock(request).parse_local(body.snoozed_until)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"snoozed_until: {exc}") from None
    async with _answering():
        before = await _desk(request).set_state(conversation_id, body.state, actor=_actor(staff), snoozed_until=until)
    return _ok(state=body.state.value, before=before.value)


@router.post("/api/conversations/{conversation_id}/assign")
async def assign(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, Assignment)
    async with _answering():
        await _desk(request).assign(conversation_id, body.username, actor=_actor(staff))
    return _ok()


@router.post("/api/conversations/{conversation_id}/move")
async def move(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check_id(conversation_id)
    body = await _body(request, QueueMove)
    async with _answering():
        await _desk(request).move_to_queue(conversation_id, body.queue, actor=_actor(staff))
    return _ok()


@router.post("/api/conversations/{conversation_id}/viewing")
async def viewing(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> dict[str, Any]:
    """The page's heartbeat: who else has this conversation open (the collision notice)."""
    _check_id(conversation_id)
    await _body(request, NoBody)
    async with _answering():
        others = await _desk(request).viewing(conversation_id, actor=_actor(staff))
    return {"others": others}


@router.get("/api/conversations/{conversation_id}/canned")
async def canned_for(request: Request, conversation_id: str, staff: Staff = Depends(agent)) -> dict[str, Any]:
    """The canned replies in the conversation's language, filled in for it (text only)."""
    _check_id(conversation_id)
    async with _answering():
        filled = await _desk(request).canned_for(conversation_id)
    return {"replies": [{"id": r.id, "title": r.title, "language": r.language, "text": text} for r, text in filled]}


@router.get("/inbox/canned", response_class=HTMLResponse)
async def canned_page(request: Request, staff: Staff = Depends(admin)) -> HTMLResponse:
    fmt = _clock(request)
    replies = [
        {
            "id": r.id,
            "title": r.title,
            "language": r.language,
            "text": r.text,
            "updated": fmt.full(r.updated_at),
            "by": r.updated_by,
        }
        for r in await DeskStore(_services(request).db).canned_replies()
    ]
    return render(
        request,
        "inbox_canned.html",
        staff,
        title="Canned replies",
        replies=replies,
        variables=["{" + v + "}" for v in CANNED_VARIABLES],
    )


@router.post("/api/canned")
async def save_canned(request: Request, staff: Staff = Depends(admin_write)) -> JSONResponse:
    body = await _body(request, CannedText)
    if body.id is not None:
        _check_id(body.id)
    async with _answering():
        rid = await _desk(request).save_canned(
            title=body.title, language=body.language, text=body.text, actor=_actor(staff), reply_id=body.id
        )
    return _ok(id=rid)


@router.post("/api/canned/{reply_id}/delete")
async def delete_canned(request: Request, reply_id: str, staff: Staff = Depends(admin_write)) -> JSONResponse:
    _check_id(reply_id)
    await _body(request, NoBody)
    async with _answering():
        await _desk(request).delete_canned(reply_id, actor=_actor(staff))
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


router.include_router(customer_panel_router)  # the customer panel's actions (web.customer_panel)
