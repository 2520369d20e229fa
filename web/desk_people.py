"""People of the desk: an agent's presence, and the admin page for queue skills and agent skills and
capacity (``services.assignment``). Roles and CSRF as everywhere (``web.auth``): a role that may not
use a route gets the same 404 as a missing one; writes need the session's CSRF token.

- ``GET  /api/desk/presence``            every agent's presence (the inbox marks each assignee)
- ``POST /api/desk/presence/heartbeat``  the agent's inbox page is open (every 20 s): online unless away
- ``POST /api/desk/presence``            ``{mode: online|away}``: the agent's own toggle
- ``GET  /admin/people``                 admins: queues (auto-assign, skills) and agents (skills, capacity)
- ``POST /api/desk/queues/{queue}``      admins: ``{auto_assign, skills}``
- ``POST /api/desk/agents/{username}``   admins: ``{capacity, skills}`` (capacity null: the default)
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conversation import NotFound, utcnow
from conversation.sql.assignment_store import PresenceMode
from conversation.sql.desk import DeskQueries
from services.assignment import (
    MAX_CAPACITY,
    Assignment,
    AssignmentRefused,
    PresenceState,
    assignment_for,
)
from services.container import Container
from services.timefmt import TimeFormatter
from web.auth import Role, Staff, require, require_write
from web.bodies import read_capped
from web.pages import render

__all__ = ["router", "HEARTBEAT_S"]

router = APIRouter(tags=["desk-people"])

HEARTBEAT_S = 20  # presence.js sends one this often (well inside the away threshold)
_MAX_BODY = 8_000
_NAME = re.compile(r"[\w.-]{1,64}")
_agent = require(Role.AGENT)
_agent_write = require_write(Role.AGENT)
_admin = require(Role.ADMIN)
_admin_write = require_write(Role.ADMIN)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModeIn(_Body):
    mode: PresenceMode


class QueueIn(_Body):
    auto_assign: bool
    skills: list[str] = Field(default_factory=list, max_length=50)


class AgentIn(_Body):
    capacity: int | None = Field(None, ge=0, le=MAX_CAPACITY)
    skills: list[str] = Field(default_factory=list, max_length=50)


B = TypeVar("B", bound=_Body)


async def _body(request: Request, model: type[B]) -> B:
    """Parsed after the role and CSRF checks (the dependencies run first)."""
    raw = await read_capped(request, _MAX_BODY)
    try:
        return model.model_validate(json.loads(raw or b"{}"))
    except json.JSONDecodeError:
        raise HTTPException(status_code=422, detail="the body is not JSON") from None
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        raise HTTPException(status_code=422, detail=detail) from None


def _services(request: Request) -> Container:
    services: Container = request.app.state.services
    return services


def _assignment(request: Request) -> Assignment:
    return assignment_for(_services(request))


def _name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise HTTPException(status_code=404, detail=f"there is no {what} called {value[:70]!r}")
    return value


def _state(s: PresenceState) -> dict[str, Any]:
    return {
        "username": s.username,
        "presence": s.presence.value,
        "mode": s.mode.value,
        "heartbeat_s": HEARTBEAT_S,
    }


# -- presence ---------------------------------------------------------------------------------------
@router.get("/api/desk/presence")
async def presence(request: Request, staff: Staff = Depends(_agent)) -> dict[str, Any]:
    a = _assignment(request)
    me = await a.state_of(staff.username)
    return {
        "me": _state(me),
        "agents": [
            {"username": v.profile.username, "display_name": v.profile.display_name, "presence": v.presence.value}
            for v in await a.people()
        ],
    }


@router.post("/api/desk/presence/heartbeat")
async def heartbeat(request: Request, staff: Staff = Depends(_agent_write)) -> dict[str, Any]:
    return _state(await _assignment(request).heartbeat(staff.username))


@router.post("/api/desk/presence")
async def set_presence(request: Request, staff: Staff = Depends(_agent_write)) -> dict[str, Any]:
    body = await _body(request, ModeIn)
    return _state(await _assignment(request).set_mode(staff.username, body.mode))


# -- admin --------------------------------------------------------------------------------------------
@router.get("/admin/people", response_class=HTMLResponse)
async def people_page(request: Request, staff: Staff = Depends(_admin)) -> HTMLResponse:
    a = _assignment(request)
    fmt = TimeFormatter.for_zone(request.app.state.settings.timezone)
    rules = {r.queue: r for r in await a.queue_rules()}
    names = sorted(set(await DeskQueries(_services(request).db).known_queues()) | set(rules))
    queues = [
        {
            "name": q,
            "auto_assign": bool(rules[q].auto_assign) if q in rules else False,
            "skills": ", ".join(rules[q].skills) if q in rules else "",
            "last_assigned": (rules[q].last_assigned or "") if q in rules else "",
        }
        for q in names
    ]
    agents = [
        {
            "username": v.profile.username,
            "display_name": v.profile.display_name,
            "role": v.profile.role,
            "presence": v.presence.value,
            "seen": fmt.full(v.profile.last_seen_at) if v.profile.last_seen_at else "never",
            "open": v.profile.open_count,
            "capacity": "" if v.profile.capacity is None else str(v.profile.capacity),
            "effective_capacity": v.capacity,
            "skills": ", ".join(v.profile.skills),
        }
        for v in await a.people(now=utcnow())
    ]
    return render(
        request,
        "desk_people.html",
        staff,
        title="Queues and agents",
        queues=queues,
        agents=agents,
        default_capacity=a.default_capacity,
        max_capacity=MAX_CAPACITY,
        timezone=fmt.name,
    )


def _refused(exc: Exception, status_code: int) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status_code)


@router.post("/api/desk/queues/{queue}")
async def configure_queue(request: Request, queue: str, staff: Staff = Depends(_admin_write)) -> JSONResponse:
    body = await _body(request, QueueIn)
    try:
        await _assignment(request).configure_queue(
            _name(queue, "queue"), auto_assign=body.auto_assign, skills=body.skills, actor=staff.username
        )
    except AssignmentRefused as exc:
        return _refused(exc, 422)
    return JSONResponse({"ok": True})


@router.post("/api/desk/agents/{username}")
async def configure_agent(request: Request, username: str, staff: Staff = Depends(_admin_write)) -> JSONResponse:
    body = await _body(request, AgentIn)
    try:
        await _assignment(request).configure_agent(
            _name(username, "agent"), capacity=body.capacity, skills=body.skills, actor=staff.username
        )
    except AssignmentRefused as exc:
        return _refused(exc, 422)
    except NotFound as exc:
        return _refused(exc, 404)
    return JSONResponse({"ok": True})
