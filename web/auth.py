"""Staff login, sessions, roles and CSRF for the agent, ops and admin pages.

- Sessions live in Redis (``gd:staff:<random id>``), so logout and expiry really end them; the cookie
  only carries the random id (HttpOnly, SameSite=Lax, Secure over HTTPS).
- Every state-changing request carries the session's CSRF token (header ``X-CSRF-Token`` or form
  field ``csrf_token``).
- Roles: ``agent`` (inbox), ``ops`` (dashboard), ``admin`` (everything, and policies). A route a role
  may not use answers exactly like a route that does not exist: ``404 {"detail": "Not Found"}``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.container import Container
from services.passwords import hash_password, verify_password
from web.pages import render

__all__ = [
    "Role",
    "Staff",
    "LoginRequired",
    "router",
    "require",
    "require_write",
    "SESSION_COOKIE",
    "SESSION_TTL_S",
    "home_for",
]

SESSION_COOKIE = "gd_staff"
LOGIN_CSRF_COOKIE = "gd_login_csrf"
SESSION_TTL_S = 12 * 3600
_KEY = "gd:staff:"
_LOGIN_LIMIT = (10, 300)  # attempts per username and per client address, per 5 minutes

router = APIRouter()


class Role(StrEnum):
    AGENT = "agent"
    OPS = "ops"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    username: str
    display_name: str
    role: Role
    csrf: str
    session_id: str

    def may(self, *roles: Role) -> bool:
        return self.role is Role.ADMIN or self.role in roles


class LoginRequired(Exception):
    """No valid staff session: pages redirect to /login, API calls get 401."""


def home_for(role: Role) -> str:
    return {Role.AGENT: "/inbox", Role.OPS: "/ops", Role.ADMIN: "/admin/policies"}[role]


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


# -- sessions ---------------------------------------------------------------------------------------
async def _load(services: Container, session_id: str | None) -> Staff | None:
    if not session_id or len(session_id) > 100:
        return None
    raw = await services.redis.get(_KEY + session_id)
    if raw is None:
        return None
    data = json.loads(raw)
    user = await services.users.by_id(data["uid"])
    if user is None or user.role not in {r.value for r in Role}:
        return None
    return Staff(id=user.id, username=user.username, display_name=user.display_name, role=Role(user.role),
                 csrf=data["csrf"], session_id=session_id)


async def current_staff(request: Request) -> Staff | None:
    cached = getattr(request.state, "staff", None)
    if cached is not None:
        return cached
    staff = await _load(request.app.state.services, request.cookies.get(SESSION_COOKIE))
    request.state.staff = staff
    return staff


def require(*roles: Role) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: the logged-in staff member, if their role may use this route (else 404)."""

    async def dependency(request: Request) -> Staff:
        staff = await current_staff(request)
        if staff is None:
            raise LoginRequired()
        if not staff.may(*roles):
            raise HTTPException(status_code=404, detail="Not Found")
        return staff

    return dependency


def require_write(*roles: Role) -> Callable[[Request], Awaitable[Staff]]:
    """Like :func:`require`, for state-changing requests: the CSRF token must match the session's."""
    allowed = require(*roles)

    async def dependency(request: Request) -> Staff:
        staff = await allowed(request)
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent.encode(), staff.csrf.encode()):
            raise HTTPException(status_code=403,
                                detail="The form's security token is missing or out of date: reload the page and try again.")
        return staff

    return dependency


async def login_required_handler(request: Request, exc: LoginRequired) -> Response:
    wants_html = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if wants_html:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return Response(json.dumps({"detail": "Log in first: POST /login, then send the gd_staff cookie."}),
                    status_code=401, media_type="application/json")


def _safe_next(target: str | None) -> str | None:
    """Only a local path: never another host (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 500:
        return None
    return target


# -- pages ------------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    staff = await current_staff(request)
    if staff is not None:
        return RedirectResponse(_safe_next(next) or home_for(staff.role), status_code=303)  # type: ignore[return-value]
    return _login_form(request, next=_safe_next(next))


def _login_form(request: Request, *, next: str | None, error: str | None = None, username: str = "",
                status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, title="Log in", login_csrf=token, next=next or "",
                      error=error, username=username, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, username: str = Form("", max_length=64), password: str = Form("", max_length=256),
                csrf_token: str = Form("", max_length=100), next: str = Form("", max_length=500)) -> Response:
    services: Container = request.app.state.services
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(request, next=_safe_next(next), username=username, status_code=403,
                           error="The login form expired. Please enter your name and password again.")
    username = username.strip()  # one spelling per account, for the lookup and the rate limit alike
    client = request.client.host if request.client else "unknown"
    limit, window = _LOGIN_LIMIT
    if not (await services.limiter.allow(f"login:user:{username.lower()}", limit=limit, window_s=window)
            and await services.limiter.allow(f"login:ip:{client}", limit=limit * 3, window_s=window)):
        return _login_form(request, next=_safe_next(next), username=username, status_code=429,
                           error="Too many attempts. Wait five minutes, then try again.")
    user = await services.users.by_username(username)
    ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else _dummy_hash())
    if user is None or not ok or user.role not in {r.value for r in Role}:
        await services.audit.record(actor=username[:64] or "anonymous", action="login_failed", object_id=None,
                                    data={"client": client})
        return _login_form(request, next=_safe_next(next), username=username, status_code=401,
                           error="Wrong name or password.")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await services.redis.delete(_KEY + old[:100])  # no session fixation: always a fresh id
    session_id = secrets.token_urlsafe(32)
    await services.redis.set(_KEY + session_id, json.dumps({"uid": user.id, "csrf": secrets.token_urlsafe(32)}),
                             ex=SESSION_TTL_S)
    await services.audit.record(actor=user.username, action="login", object_id=user.id, data={"client": client})
    response = RedirectResponse(_safe_next(next) or home_for(Role(user.role)), status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=SESSION_TTL_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    staff = await require_write(Role.AGENT, Role.OPS, Role.ADMIN)(request)
    services: Container = request.app.state.services
    await services.redis.delete(_KEY + staff.session_id)
    await services.audit.record(actor=staff.username, action="logout", object_id=staff.id, data={})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/me")
async def me(request: Request) -> dict[str, str]:
    staff = await require(Role.AGENT, Role.OPS, Role.ADMIN)(request)
    return {"username": staff.username, "display_name": staff.display_name, "role": staff.role.value,
            "csrf_token": staff.csrf}
