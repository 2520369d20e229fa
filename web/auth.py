"""Staff login, sessions, roles and CSRF for the agent, ops and admin pages.

- Sessions live in Redis (``gd:staff:<random id>``), so logout and expiry really end them; the cookie
  only carries the random id (HttpOnly, SameSite=Lax, Secure over HTTPS).
- Every state-changing request carries the session's CSRF token (header ``X-CSRF-Token`` or form
  field ``csrf_token``).
- Roles: ``agent`` (inbox), ``ops`` (dashboard), ``admin`` (everything, and policies). A route a role
  may not use answers exactly like a route that does not exist: ``404 {"detail": "Not Found"}``.
- Wrong passwords slow down the (name, address) pair first, then the address, and never lock the real
  user out from their own address (``services.login_throttle``).
- An account with a one-time password (``glassdesk users create``) can only change it
  (``/account/password``) until it has; a password change ends every other session of the account.
- Logins, failed logins, throttling and logouts are written to the audit log (never a password).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conversation.sql import UserRow
from services.container import Container
from services.login_throttle import LoginThrottle
from services.passwords import hash_password, verify_password
from services.staff_accounts import MIN_PASSWORD_LENGTH, AccountRefused, Role, WrongPassword, change_password
from web.pages import render

__all__ = [
    "Role",
    "Staff",
    "LoginRequired",
    "PasswordChangeRequired",
    "LoginAction",
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
PASSWORD_PATH = "/account/password"

router = APIRouter()


@enum.unique
class LoginAction(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    username: str
    display_name: str
    role: Role
    csrf: str
    session_id: str
    must_change_password: bool = False

    def may(self, *roles: Role) -> bool:
        return self.role is Role.ADMIN or self.role in roles


class LoginRequired(Exception):
    """No valid staff session: pages redirect to /login, API calls get 401."""


class PasswordChangeRequired(LoginRequired):
    """Logged in with a one-time password: pages redirect to /account/password, API calls get 403."""


def home_for(role: Role) -> str:
    return {Role.AGENT: "/inbox", Role.OPS: "/ops", Role.ADMIN: "/admin/policies"}[role]


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


# -- sessions ---------------------------------------------------------------------------------------
def _password_mark(user: UserRow) -> str:
    """Stored in the session: a session opened before the password changed no longer matches."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


async def _open_session(services: Container, user: UserRow) -> str:
    session_id = secrets.token_urlsafe(32)
    await services.redis.set(
        _KEY + session_id,
        json.dumps({"uid": user.id, "csrf": secrets.token_urlsafe(32), "pw": _password_mark(user)}),
        ex=SESSION_TTL_S,
    )
    return session_id


def _with_session_cookie(response: Response, request: Request, session_id: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


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
    if not hmac.compare_digest(str(data.get("pw", "")).encode(), _password_mark(user).encode()):
        return None  # the password changed since this session began
    return Staff(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        csrf=data["csrf"],
        session_id=session_id,
        must_change_password=user.must_change_password,
    )


async def current_staff(request: Request) -> Staff | None:
    cached = getattr(request.state, "staff", None)
    if isinstance(cached, Staff):
        return cached
    staff = await _load(request.app.state.services, request.cookies.get(SESSION_COOKIE))
    request.state.staff = staff
    return staff


def require(*roles: Role, allow_one_time_password: bool = False) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: the logged-in staff member, if their role may use this route (else 404). An
    account still on its one-time password may only change it (and log out)."""

    async def dependency(request: Request) -> Staff:
        staff = await current_staff(request)
        if staff is None:
            raise LoginRequired()
        if not staff.may(*roles):
            raise HTTPException(status_code=404, detail="Not Found")
        if staff.must_change_password and not allow_one_time_password:
            raise PasswordChangeRequired()
        return staff

    return dependency


async def _check_csrf(request: Request, staff: Staff) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), staff.csrf.encode()):
        raise HTTPException(
            status_code=403,
            detail="The form's security token is missing or out of date: reload the page and try again.",
        )


def require_write(*roles: Role, allow_one_time_password: bool = False) -> Callable[[Request], Awaitable[Staff]]:
    """Like :func:`require`, for state-changing requests: the CSRF token must match the session's."""
    allowed = require(*roles, allow_one_time_password=allow_one_time_password)

    async def dependency(request: Request) -> Staff:
        staff = await allowed(request)
        await _check_csrf(request, staff)
        return staff

    return dependency


async def login_required_handler(request: Request, exc: LoginRequired) -> Response:
    wants_html = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if isinstance(exc, PasswordChangeRequired):
        if wants_html:
            return RedirectResponse(f"{PASSWORD_PATH}?next={quote(target, safe='')}", status_code=303)
        return Response(
            json.dumps(
                {"detail": f"Choose your own password first: {PASSWORD_PATH} (you logged in with a one-time password)."}
            ),
            status_code=403,
            media_type="application/json",
        )
    if wants_html:
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return Response(
        json.dumps({"detail": "Log in first: POST /login, then send the gd_staff cookie."}),
        status_code=401,
        media_type="application/json",
    )


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


def _login_form(
    request: Request, *, next: str | None, error: str | None = None, username: str = "", status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        title="Log in",
        login_csrf=token,
        next=next or "",
        error=error,
        username=username,
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    csrf_token: str = Form("", max_length=100),
    next: str = Form("", max_length=500),
) -> Response:
    services: Container = request.app.state.services
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(
            request,
            next=_safe_next(next),
            username=username,
            status_code=403,
            error="The login form expired. Please enter your name and password again.",
        )
    username = username.strip()  # one spelling per account, for the lookup and the throttle alike
    client = request.client.host if request.client else "unknown"
    throttle = LoginThrottle(services.redis)
    if await throttle.blocked(username, client) is not None:  # the password is not even checked
        return _login_form(
            request,
            next=_safe_next(next),
            username=username,
            status_code=429,
            error="Too many failed attempts. Wait five minutes, then try again.",
        )
    user = await services.users.by_username(username)
    ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else _dummy_hash())
    if user is None or not ok or user.role not in {r.value for r in Role}:
        closed = await throttle.failed(username, client)
        actor, object_id = (user.username, user.id) if user is not None else ("unknown", None)
        await services.audit.record(
            actor=actor,
            action=LoginAction.LOGIN_FAILED,
            object_id=object_id,
            data={"client": client, "known_name": user is not None},
        )
        for scope in closed:
            await services.audit.record(
                actor=actor,
                action=LoginAction.LOGIN_THROTTLED,
                object_id=object_id,
                data={"client": client, "scope": scope.value},
            )
        return _login_form(
            request, next=_safe_next(next), username=username, status_code=401, error="Wrong name or password."
        )
    await throttle.succeeded(username, client)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await services.redis.delete(_KEY + old[:100])  # no session fixation: always a fresh id
    session_id = await _open_session(services, user)
    await services.audit.record(
        actor=user.username,
        action=LoginAction.LOGIN,
        object_id=user.id,
        data={"client": client, "one_time_password": user.must_change_password},
    )
    target = _safe_next(next) or home_for(Role(user.role))
    if user.must_change_password:
        target = f"{PASSWORD_PATH}?next={quote(target, safe='')}"
    response = _with_session_cookie(RedirectResponse(target, status_code=303), request, session_id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    staff = await require_write(Role.AGENT, Role.OPS, Role.ADMIN, allow_one_time_password=True)(request)
    services: Container = request.app.state.services
    await services.redis.delete(_KEY + staff.session_id)
    await services.audit.record(actor=staff.username, action=LoginAction.LOGOUT, object_id=staff.id, data={})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/me")
async def me(request: Request) -> dict[str, str]:
    staff = await require(Role.AGENT, Role.OPS, Role.ADMIN)(request)
    return {
        "username": staff.username,
        "display_name": staff.display_name,
        "role": staff.role.value,
        "csrf_token": staff.csrf,
    }


# -- choosing a password ----------------------------------------------------------------------------
_any_staff = require(Role.AGENT, Role.OPS, Role.ADMIN, allow_one_time_password=True)


def _password_form(
    request: Request, staff: Staff, *, next: str | None, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "account_password.html",
        staff,
        title="Choose your password",
        next=next or "",
        error=error,
        one_time=staff.must_change_password,
        min_length=MIN_PASSWORD_LENGTH,
        status_code=status_code,
    )


@router.get(PASSWORD_PATH, response_class=HTMLResponse)
async def password_page(request: Request, next: str | None = None) -> HTMLResponse:
    staff = await _any_staff(request)
    return _password_form(request, staff, next=_safe_next(next))


@router.post(PASSWORD_PATH, response_class=HTMLResponse)
async def password_change(request: Request) -> Response:
    staff = await require_write(Role.AGENT, Role.OPS, Role.ADMIN, allow_one_time_password=True)(request)
    form = await request.form()
    fields = {name: form.get(name) for name in ("current", "new", "repeat", "next")}
    current, new, repeat, next_ = (v if isinstance(v, str) else "" for v in fields.values())
    next_target = _safe_next(next_[:500])
    if new != repeat:
        return _password_form(
            request,
            staff,
            next=next_target,
            status_code=422,
            error="The two new passwords differ: type the same password twice.",
        )
    services: Container = request.app.state.services
    user = await services.users.by_id(staff.id)
    client = request.client.host if request.client else "unknown"
    throttle = LoginThrottle(services.redis)  # a borrowed session must not become a way to guess the password
    if user is None:
        raise LoginRequired()
    if await throttle.blocked(user.username, client) is not None:
        return _password_form(
            request,
            staff,
            next=next_target,
            status_code=429,
            error="Too many failed attempts. Wait five minutes, then try again.",
        )
    try:  # 257 characters reach the length rule, which names the limit
        await change_password(services, user, current=current[:256], new=new[:257])
    except WrongPassword as exc:
        await throttle.failed(user.username, client)
        return _password_form(request, staff, next=next_target, status_code=422, error=f"Not changed: {exc}.")
    except AccountRefused as exc:
        return _password_form(request, staff, next=next_target, status_code=422, error=f"Not changed: {exc}.")
    await services.redis.delete(_KEY + staff.session_id)  # every session of the old password ends, this one too
    changed = await services.users.by_id(staff.id)
    if changed is None:
        raise LoginRequired()
    session_id = await _open_session(services, changed)
    target = next_target if next_target and not next_target.startswith(PASSWORD_PATH) else home_for(staff.role)
    return _with_session_cookie(RedirectResponse(target, status_code=303), request, session_id)
