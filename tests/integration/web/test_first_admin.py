"""No default admin: `glassdesk users create` prints a one-time password, which only opens the page to
choose a real one; a changed password ends every older session. Real CLI, real HTTP, real Redis."""

from __future__ import annotations

import re

import httpx
import pytest
from typer.testing import CliRunner

from runtime.users_cli import users_app
from tests.browser.live_server import LiveServer

runner = CliRunner()
NEW_PASSWORD = "a long and private passphrase"


@pytest.fixture
def users(staff_server: LiveServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(staff_server.settings.var_dir))
    monkeypatch.setenv("GLASSDESK_REDIS_URL", str(staff_server.settings.redis_url))
    monkeypatch.setenv("GLASSDESK_PUBLIC_URL", staff_server.settings.public_url)
    return lambda *args: runner.invoke(users_app, list(args))


def _one_time(output: str) -> str:
    found = re.search(r"one-time password for \S+: (\S+)", output)
    assert found, output
    return found.group(1)


def _login(server: LiveServer, username: str, password: str, next_: str = "") -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=server.base_url, timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1), "next": next_}
    )
    return client, r


def _change(client: httpx.Client, *, current: str, new: str, repeat: str | None = None) -> httpx.Response:
    page = client.get("/account/password")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf.group(1),
            "current": current,
            "new": new,
            "repeat": new if repeat is None else repeat,
            "next": "",
        },
    )


def test_the_first_admin_chooses_a_password_before_anything_else(staff_server: LiveServer, users) -> None:  # type: ignore[no-untyped-def]
    created = users("create", "--name", "boss", "--role", "admin", "--display-name", "The Boss")
    assert created.exit_code == 0, created.output
    one_time = _one_time(created.output)
    assert len(one_time) >= 20
    assert users("create", "--name", "boss", "--role", "agent").exit_code == 2  # taken
    bad = users("create", "--name", "no spaces please", "--role", "agent")
    assert bad.exit_code == 2 and "--name" in bad.output
    assert "boss" in users("list").output and "one-time password" in users("list").output

    client, r = _login(staff_server, "boss", one_time, next_="/admin/policies")
    assert r.status_code == 303 and r.headers["location"] == "/account/password?next=%2Fadmin%2Fpolicies"
    me = client.get("/api/me")
    assert me.status_code == 403 and "Choose your own password" in me.json()["detail"]
    page = client.get("/admin/policies", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/account/password?next=")

    refusals = [
        (dict(current=one_time, new=NEW_PASSWORD, repeat=NEW_PASSWORD + "!"), "differ"),
        (dict(current=one_time, new="short"), "at least 12"),
        (dict(current="wrong", new=NEW_PASSWORD), "current password is wrong"),
        (dict(current=one_time, new=one_time), "other than the current one"),
    ]
    for fields, reason in refusals:
        refused = _change(client, **fields)
        assert refused.status_code == 422 and reason in refused.text, (fields, refused.text[:300])
    old_cookie = client.cookies["gd_staff"]
    changed = _change(client, current=one_time, new=NEW_PASSWORD)
    assert changed.status_code == 303 and changed.headers["location"] == "/admin/policies"
    assert client.get("/api/me").json()["username"] == "boss"  # a fresh session, now complete
    with httpx.Client(base_url=staff_server.base_url, cookies={"gd_staff": old_cookie}, timeout=10) as stale:
        assert stale.get("/api/me").status_code == 401
    assert _login(staff_server, "boss", one_time)[1].status_code == 401  # the one-time password is used up
    again, r = _login(staff_server, "boss", NEW_PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/admin/policies"
    assert "one-time password" not in users("list").output.split("boss", 1)[1].splitlines()[0]

    audit = staff_server.call(lambda s: s.audit.entries(limit=200))
    assert one_time not in repr(audit) and NEW_PASSWORD not in repr(audit)
    actions = {e["action"] for e in audit if e["actor"] in {"boss", "cli"}}
    assert {"user.created", "user.password_changed", "login"} <= actions


def test_a_reset_ends_every_session_of_the_account(staff_server: LiveServer, users) -> None:  # type: ignore[no-untyped-def]
    first = _one_time(users("create", "--name", "temp-agent", "--role", "agent").output)
    client, _ = _login(staff_server, "temp-agent", first)
    assert _change(client, current=first, new=NEW_PASSWORD).status_code == 303
    other, _ = _login(staff_server, "temp-agent", NEW_PASSWORD)
    assert other.get("/api/me").status_code == 200 and client.get("/api/me").status_code == 200
    reset = users("reset-password", "--name", "temp-agent")
    assert reset.exit_code == 0
    assert client.get("/api/me").status_code == 401 and other.get("/api/me").status_code == 401
    assert _login(staff_server, "temp-agent", NEW_PASSWORD)[1].status_code == 401
    _fresh, r = _login(staff_server, "temp-agent", _one_time(reset.output))
    assert r.headers["location"].startswith("/account/password")
    assert users("reset-password", "--name", "no-such-account").exit_code == 2


def test_a_borrowed_session_cannot_guess_the_password(staff_server: LiveServer, users) -> None:  # type: ignore[no-untyped-def]
    from services.login_throttle import LoginLimits

    one_time = _one_time(users("create", "--name", "guessed", "--role", "ops").output)
    client, _ = _login(staff_server, "guessed", one_time)
    for i in range(LoginLimits().pair):
        assert _change(client, current=f"guess-{i}", new=NEW_PASSWORD).status_code == 422
    blocked = _change(client, current=one_time, new=NEW_PASSWORD)  # even the right one waits now
    assert blocked.status_code == 429 and "Wait five minutes" in blocked.text
