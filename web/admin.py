"""The admin policy page: edit YAML with inline validation, see the diff and the dry run, then publish
or roll back. Admins only (anyone else gets the same 404 as a missing route); writes need CSRF.

- ``GET  /admin/policies``          the page: live version, history, editor prefilled with the live YAML
- ``POST /api/policies/validate``   ``{text}`` -> ``{valid, problems: [{line, column, path, message, hint}]}``
- ``POST /api/policies/preview``    ``{text, since_days}`` -> diff against live + dry run + ``sha256``
- ``POST /api/policies/publish``    ``{text, message, sha256, base_version}``; 422 invalid, 409 stale
- ``POST /api/policies/rollback``   ``{version, message}``
- ``POST /api/policies/requests/{id}/approve``  a second admin makes a requested change live
- ``POST /api/policies/requests/{id}/reject``   ``{note}``: another admin rejects it, or its requester withdraws it

With four-eyes publishing (``services.policy_admin``) publish and rollback answer ``202`` with the
request that waits for a second admin; the rules are the CLI's: the requester never approves.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conversation.errors import NotFound
from conversation.sql import PolicyRequest, RequestStatus
from policies import DEFAULT_POLICY_PATH, PolicyError, Problem, diff_policies, validate
from services.container import Container
from services.policy_admin import (
    Outcome,
    PublishRefused,
    RequestClosed,
    StalePreview,
    approve_request,
    preview_policy,
    publish_policy,
    reject_request,
    rollback_policy,
    text_sha256,
)
from web.auth import Role, Staff, require, require_write
from web.bodies import read_capped
from web.pages import render

__all__ = ["router"]

router = APIRouter(tags=["admin"])

SOURCE = "policy.yaml"  # how problems name the editor's text
MAX_TEXT = 200_000  # the loader itself refuses documents over 128 KiB, with a line and a fix
_admin = require(Role.ADMIN)
_admin_write = require_write(Role.ADMIN)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextIn(_Body):
    text: str = Field(max_length=MAX_TEXT)


class PreviewIn(TextIn):
    since_days: int = Field(7, ge=1, le=90)


class PublishIn(TextIn):
    message: str = Field(max_length=500)
    sha256: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")
    base_version: int | None = None


class RollbackIn(_Body):
    version: int = Field(ge=1)
    message: str = Field(max_length=400)


class DecisionIn(_Body):
    note: str = Field("", max_length=400)


_REQUEST_ID = r"pr_[A-Za-z0-9]{8,64}"
_RECENT_REQUESTS = 20


async def _read(request: Request, model: type[_Body]) -> Any:
    """Parse the JSON body after the role check, so a forbidden caller never learns the route exists."""
    try:
        raw = await read_capped(request, 4 * MAX_TEXT, what=f"requests (a policy has at most {MAX_TEXT} characters)")
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        return JSONResponse({"detail": detail}, status_code=422)


def _problems(problems: list[Problem] | tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "column": p.column, "path": p.path, "message": p.message, "hint": p.hint, "text": str(p)}
        for p in problems
    ]


def _invalid(err: PolicyError, *, what: str) -> JSONResponse:
    return JSONResponse(
        {
            "detail": f"{what}: the policy is invalid ({len(err.problems)} problem"
            f"{'' if len(err.problems) == 1 else 's'}); fix the marked lines",
            "problems": _problems(err.problems),
        },
        status_code=422,
    )


def _version(p: Any) -> dict[str, Any]:
    return {
        "version": p.version,
        "author": p.author,
        "message": p.message,
        "sha256": p.sha256,
        "rolled_back_from": p.rolled_back_from,
        "approved_by": p.approved_by,
        "created_at": p.created_at.isoformat(),
        "created": f"{p.created_at:%Y-%m-%d %H:%M} UTC",
    }


def _request(r: PolicyRequest, *, live: Any, staff: Staff) -> dict[str, Any]:
    pending = r.status is RequestStatus.PENDING
    diff = ""
    if pending:
        diff = (
            diff_policies(live.text, r.text, old_label=f"v{live.version} (live)", new_label=r.id)
            if live is not None
            else ""
        )
    return {
        "id": r.id,
        "kind": r.kind.value,
        "status": r.status.value,
        "message": r.message,
        "target_version": r.target_version,
        "base_version": r.base_version,
        "sha256": r.sha256,
        "requested_by": r.requested_by,
        "requested": f"{r.requested_at:%Y-%m-%d %H:%M} UTC",
        "decided_by": r.decided_by,
        "decision_note": r.decision_note,
        "published_version": r.published_version,
        "decided": f"{r.decided_at:%Y-%m-%d %H:%M} UTC" if r.decided_at else None,
        "mine": r.requested_by.lower() == staff.username.lower(),
        "stale": pending and (live.version if live else None) != r.base_version,
        "diff": diff,
    }


async def _state(services: Container, staff: Staff) -> dict[str, Any]:
    history = await services.policies.history()
    live = history[0] if history else None
    requests = await services.policies.requests(limit=200)
    pending = [r for r in requests if r.status is RequestStatus.PENDING]
    recent = [r for r in requests if r.status is not RequestStatus.PENDING][:_RECENT_REQUESTS]
    return {
        "live": _version(live) | {"text": live.text} if live else None,
        "history": [_version(p) for p in history],
        "four_eyes": services.settings.four_eyes_publishing,
        "requests": {
            "pending": [_request(r, live=live, staff=staff) for r in pending],
            "recent": [_request(r, live=live, staff=staff) for r in recent],
        },
    }


async def _changed(services: Container, staff: Staff, outcome: Outcome) -> JSONResponse:
    """200 with the new live version, or 202 with the request that waits for a second admin."""
    state = await _state(services, staff)
    if outcome.request is not None:
        return JSONResponse({"requested": outcome.request.id, **state}, status_code=202)
    assert outcome.published is not None
    return JSONResponse({"published": outcome.published.version, **state})


@router.get("/admin/policies", response_class=HTMLResponse)
async def policies_page(request: Request, staff: Staff = Depends(_admin)) -> HTMLResponse:
    services: Container = request.app.state.services
    history = await services.policies.history()
    live = history[0] if history else None
    text = live.text if live else DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    return render(
        request,
        "admin_policies.html",
        staff,
        title="Routing policies",
        live=live,
        history=history,
        text=text,
        four_eyes=services.settings.four_eyes_publishing,
    )


@router.get("/api/policies")
async def policies_state(request: Request, staff: Staff = Depends(_admin)) -> dict[str, Any]:
    return await _state(request.app.state.services, staff)


@router.post("/api/policies/validate")
async def validate_policy(request: Request, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, TextIn)
    if isinstance(body, JSONResponse):
        return body
    problems = validate(body.text, source=SOURCE)
    return {"valid": not problems, "problems": _problems(problems), "sha256": text_sha256(body.text)}


@router.post("/api/policies/preview")
async def preview(request: Request, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, PreviewIn)
    if isinstance(body, JSONResponse):
        return body
    services: Container = request.app.state.services
    try:
        result = await preview_policy(services, body.text, since_days=body.since_days, source=SOURCE)
    except PolicyError as err:
        return _invalid(err, what="no preview")
    return result.to_json()


@router.post("/api/policies/publish")
async def publish(request: Request, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, PublishIn)
    if isinstance(body, JSONResponse):
        return body
    services: Container = request.app.state.services
    try:
        outcome = await publish_policy(
            services,
            body.text,
            author=staff.username,
            message=body.message.strip(),
            source=SOURCE,
            previewed_sha256=body.sha256,
            base_version=body.base_version,
        )
    except PublishRefused as exc:
        status = 422 if not body.message.strip() else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)
    except PolicyError as err:
        return _invalid(err, what="not published")
    except StalePreview as exc:
        return JSONResponse({"detail": f"not published: {exc}"}, status_code=409)
    return await _changed(services, staff, outcome)


@router.post("/api/policies/rollback")
async def rollback(request: Request, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, RollbackIn)
    if isinstance(body, JSONResponse):
        return body
    services: Container = request.app.state.services
    message = body.message.strip()
    if not message:
        return JSONResponse({"detail": "write a message: why roll back (it is kept in the history)"}, status_code=422)
    try:
        outcome = await rollback_policy(services, body.version, author=staff.username, message=message)
    except NotFound:
        return JSONResponse({"detail": f"policy version {body.version} does not exist"}, status_code=404)
    except PublishRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except PolicyError as err:
        return _invalid(err, what=f"v{body.version} cannot go live again")
    return await _changed(services, staff, outcome)


def _request_id(request_id: str) -> str:
    if not re.fullmatch(_REQUEST_ID, request_id):
        raise HTTPException(status_code=404, detail="Not Found")
    return request_id


@router.post("/api/policies/requests/{request_id}/approve")
async def approve(request: Request, request_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, DecisionIn)
    if isinstance(body, JSONResponse):
        return body
    services: Container = request.app.state.services
    try:
        _decided, stored = await approve_request(services, _request_id(request_id), approver=staff.username)
    except NotFound:
        return JSONResponse({"detail": f"policy request {request_id} does not exist"}, status_code=404)
    except (PublishRefused, StalePreview) as exc:  # SelfApproval and RequestClosed among them
        return JSONResponse({"detail": f"not approved: {exc}"}, status_code=409)
    except PolicyError as err:
        return _invalid(err, what="not approved")
    return await _changed(services, staff, Outcome(published=stored))


@router.post("/api/policies/requests/{request_id}/reject")
async def reject(request: Request, request_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, DecisionIn)
    if isinstance(body, JSONResponse):
        return body
    services: Container = request.app.state.services
    try:
        decided = await reject_request(services, _request_id(request_id), by=staff.username, note=body.note.strip())
    except NotFound:
        return JSONResponse({"detail": f"policy request {request_id} does not exist"}, status_code=404)
    except (PublishRefused, RequestClosed) as exc:
        return JSONResponse({"detail": f"not rejected: {exc}"}, status_code=409)
    return {"decided": decided.id, "status": decided.status.value, **await _state(services, staff)}
