"""Staff accounts and logged-in HTTP clients for tests of the staff pages (real HTTP, real Redis)."""

from __future__ import annotations

import re

import httpx

from services.passwords import hash_password
from tests.browser.live_server import LiveServer

__all__ = ["create_staff", "login", "forget_login_attempts", "STAFF"]

# username, role; the password equals the username + "-pw"
STAFF = (("agent1", "agent"), ("ops1", "ops"), ("admin1", "admin"))


def create_staff(server: LiveServer, username: str, role: str, *, password: str | None = None) -> None:
    async def upsert(services):  # type: ignore[no-untyped-def]
        await services.users.upsert(
            username,
            display_name=username.title(),
            role=role,
            password_hash=hash_password(password or f"{username}-pw"),
        )

    server.call(upsert)


def login(server: LiveServer, username: str, password: str | None = None) -> tuple[httpx.Client, str]:
    """A client holding a fresh staff session, and that session's CSRF token."""
    client = httpx.Client(base_url=server.base_url, timeout=10, follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "the login form carries a CSRF token"
    r = client.post(
        "/login",
        data={"username": username, "password": password or f"{username}-pw", "csrf_token": token.group(1), "next": ""},
    )
    assert r.status_code == 303, f"login failed for {username}: {r.status_code} {r.text[:200]}"
    me = client.get("/api/me")
    assert me.status_code == 200
    return client, me.json()["csrf_token"]


def forget_login_attempts(server: LiveServer) -> None:
    """Every test logs in from 127.0.0.1 against one shared Redis: clear the login rate-limit counters
    (gd:rl:login:*) so one module's logins never eat into another's budget."""

    async def clear(services):  # type: ignore[no-untyped-def]
        keys = [k async for k in services.redis.scan_iter(match="gd:rl:login:*", count=500)]
        if keys:
            await services.redis.delete(*keys)

    server.call(clear)
