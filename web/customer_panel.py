"""The customer panel on the agent's conversation page, and its actions: send an email sender a
verification code, merge a suggested contact, undo a merge. Mounted from ``web.inbox``'s router.

The panel reads the back office with the turn's own lookups (built once per web process, on first
use) and gives up after ``PANEL_BUDGET_S``: the page then says the back office was slow."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from conversation import NotFound
from services.contact_merge import ContactMerger, MergeRefused
from services.container import Container
from services.customer_panel import CustomerPanel, CustomerPanelReader, PanelBackOffice
from services.email_verification import EmailVerification, NotAnEmailConversation
from services.identity import VerifyOutcome
from services.timefmt import TimeFormatter
from web.auth import Role, Staff, require_write
from web.bodies import read_capped

__all__ = ["router", "read_panel", "panel_view", "PANEL_BUDGET_S"]

log = logging.getLogger("glassdesk.web.customer_panel")
router = APIRouter(tags=["customer panel"])
agent_write = require_write(Role.AGENT)

PANEL_BUDGET_S = 6.0
_ID = re.compile(r"[a-z]{1,8}_[A-Za-z0-9]{8,64}")
_SENT_TEXT = {
    VerifyOutcome.CODE_SENT: "A code was emailed to the sender's address. It is valid for 10 minutes.",
    VerifyOutcome.RATE_LIMITED: "Too many codes were sent to this address recently: wait and try again later.",
    VerifyOutcome.LOCKED: "Too many wrong codes were entered: wait 10 minutes, then send a new one.",
    VerifyOutcome.SEND_FAILED: "The code email could not be sent (the mail relay refused it): try again later.",
}


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    from_contact_id: str = Field(pattern=_ID.pattern, max_length=80)
    evidence: str = Field(min_length=1, max_length=255)


def _services(request: Request) -> Container:
    services: Container = request.app.state.services
    return services


def _check(value: str) -> str:
    if not _ID.fullmatch(value):
        raise HTTPException(status_code=404, detail="Not Found")
    return value


_NONE = "none"


async def _backoffice(request: Request) -> PanelBackOffice | None:
    """The turn's lookups for this web process, built on first use (the web container has none).
    None: no connectors file and no back-office database (``glassdesk demo`` seeds one)."""
    state = request.app.state
    existing: PanelBackOffice | str | None = getattr(state, "panel_backoffice", None)
    if existing is None:
        lock = getattr(state, "panel_backoffice_lock", None)
        if lock is None:
            lock = state.panel_backoffice_lock = asyncio.Lock()
        async with lock:
            existing = getattr(state, "panel_backoffice", None)
            if existing is None:
                existing = state.panel_backoffice = await _build_backoffice(_services(request))
    return existing if isinstance(existing, PanelBackOffice) else None


async def close_panel_backoffice(state: Any) -> None:
    """At shutdown: close the back office the panel opened (connectors' HTTP clients, robots' browsers)."""
    built = getattr(state, "panel_backoffice", None)
    if isinstance(built, PanelBackOffice):
        state.panel_backoffice = None
        await built.lookups.aclose()


async def _build_backoffice(services: Container) -> PanelBackOffice | str:
    from knowledge.backoffice import Lookups, SqlBackOffice
    from runtime.compose import build_lookups  # the composition root's own rule (REST, robots, SQL)

    settings = services.settings
    path = settings.var_dir / "backoffice.db"
    if not settings.connectors_file and not await asyncio.to_thread(path.exists):
        return _NONE  # opening it would create an empty database file
    sql = SqlBackOffice.from_path(path)
    if settings.connectors_file:
        return PanelBackOffice(lookups=await build_lookups(settings, sql), backoffice=None)
    return PanelBackOffice(lookups=Lookups(sql), backoffice=sql)


async def read_panel(request: Request, conversation_id: str) -> CustomerPanel:
    """The panel within its budget; without back-office data (and saying so) when it is slower."""
    services = _services(request)
    try:
        backoffice = await _backoffice(request)
        return await asyncio.wait_for(
            CustomerPanelReader(services, backoffice).read(conversation_id), timeout=PANEL_BUDGET_S
        )
    except TimeoutError:
        log.warning("customer panel for conversation %s: back office slower than %s s", conversation_id, PANEL_BUDGET_S)
        panel = await CustomerPanelReader(services, None).read(conversation_id)
        return _with_problem(panel, f"the back office did not answer within {PANEL_BUDGET_S:g} s: reload to try again")


def _with_problem(panel: CustomerPanel, problem: str) -> CustomerPanel:
    from dataclasses import replace

    return replace(panel, backoffice_problem=problem)


def _address_text(address: Any) -> str:
    return str(getattr(address, "address", None) or getattr(address, "number", None) or "chat session")


def _identity_view(i: Any) -> dict[str, Any]:
    kind = i.address.kind
    if kind == "phone":
        proof = "verified (carrier)"
    elif i.verified:
        proof = "verified (code)"
    else:
        proof = "unverified" if kind == "email" else "anonymous"
    return {"id": i.id, "kind": kind, "value": _address_text(i.address), "proof": proof, "proven": proof[0] == "v"}


def panel_view(panel: CustomerPanel, *, conversation_id: str, channel: str, fmt: TimeFormatter) -> dict[str, Any]:
    """What the template shows (plain values; Jinja escapes them)."""
    tickets = {c.id: c for c in panel.conversations}
    can_verify = channel == "email" and any(i.address.kind == "email" for i in panel.unproven_here)
    return {
        "contact_id": panel.contact_id,
        "name": panel.name,
        "identities": [_identity_view(i) for i in panel.identities],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel.value,
                "status": c.status.value.replace("_", " "),
                "updated": fmt.full(c.updated_at),
                "this": c.id == conversation_id,
            }
            for c in panel.conversations
        ],
        "match": (
            {
                "customer_id": panel.verified_match.customer_id,
                "name": panel.verified_match.name,
                "kind": panel.verified_match.kind,
            }
            if panel.verified_match
            else None
        ),
        "claimed": [
            {"customer_id": m.customer_id, "name": m.name, "kind": m.kind} for m in panel.matches if not m.verified
        ]
        if panel.verified_match is None
        else [],
        "records": panel.records,
        "suggestions": [
            {
                "contact_id": sgn.contact_id,
                "identities": [_identity_view(i) for i in sgn.identities],
                "conversations": sgn.conversations,
                "evidence": sgn.evidence,
                "summary": sgn.summary,
                "blocked": sgn.blocked,
            }
            for sgn in panel.suggestions
        ],
        "merges": [
            {
                "id": m["merge_id"],
                "into": m["into_contact_id"] == panel.contact_id,
                "other": m["from_contact_id"] if m["into_contact_id"] == panel.contact_id else m["into_contact_id"],
                "evidence": m["evidence"],
                "actor": m["actor"],
                "when": fmt.full(m["created_at"]),
                "undone": f"undone by {m['undone_by']}, {fmt.full(m['undone_at'])}" if m["undone_at"] else "",
                "conversations": len(m["conversation_ids"]),
                "identities": len(m["identity_ids"]),
            }
            for m in panel.merges
        ],
        "can_verify": can_verify,
        "problem": panel.backoffice_problem,
        "tickets": len(tickets),
    }


async def _json(request: Request, model: type[MergeBody]) -> MergeBody:
    import json

    from pydantic import ValidationError

    raw = await read_capped(request, 8 * 1024)
    try:
        return model.model_validate(json.loads(raw or b"{}"))
    except (json.JSONDecodeError, ValidationError):
        raise HTTPException(
            status_code=422, detail="send JSON {from_contact_id, evidence}: the contact id of the suggestion"
        ) from None


@router.post("/api/conversations/{conversation_id}/verify-email")
async def send_email_code(request: Request, conversation_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    """Email the sender a one-time code (the status page link comes with it)."""
    _check(conversation_id)
    try:
        result = await EmailVerification(_services(request)).start(conversation_id)
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    except NotAnEmailConversation as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    await _services(request).audit.record(
        actor=staff.username,
        action="identity.code_requested",
        object_id=conversation_id,
        data={"kind": "email", "outcome": result.outcome.value},
    )
    text = _SENT_TEXT.get(result.outcome, result.outcome.value)
    return JSONResponse(
        {"ok": result.outcome is VerifyOutcome.CODE_SENT, "outcome": result.outcome.value, "detail": text},
        status_code=200 if result.outcome is VerifyOutcome.CODE_SENT else 409,
    )


@router.post("/api/contacts/{contact_id}/merge")
async def merge_contact(request: Request, contact_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    """Merge ``from_contact_id`` into ``contact_id`` (audited; undo with /api/merges/{id}/undo)."""
    _check(contact_id)
    body = await _json(request, MergeBody)
    try:
        done = await ContactMerger(_services(request)).merge(
            body.from_contact_id, contact_id, evidence=body.evidence, actor=staff.username
        )
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    except (MergeRefused, ValueError) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return JSONResponse({"ok": True, "merge_id": done.merge_id})


@router.post("/api/merges/{merge_id}/undo")
async def undo_merge(request: Request, merge_id: str, staff: Staff = Depends(agent_write)) -> JSONResponse:
    _check(merge_id)
    try:
        done = await ContactMerger(_services(request)).undo(merge_id, actor=staff.username)
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return JSONResponse({"ok": True, "merge_id": done.merge_id, "from_contact_id": done.from_contact_id})
