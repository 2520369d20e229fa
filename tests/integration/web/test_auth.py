"""Staff login: sessions in Redis, CSRF on every write, no open redirect, rate-limited guessing."""

from __future__ import annotations

import re

import httpx

from services.login_throttle import LoginLimits
from tests.browser.live_server import LiveServer
from tests.support.staff import login


def _form_token(client: httpx.Client) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert m
    return m.group(1)


def test_pages_redirect_to_login_and_api_says_401(staff_server: LiveServer) -> None:
    with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
        page = c.get("/inbox", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Finbox"
        api = c.get("/api/me")
        assert api.status_code == 401 and "Log in" in api.json()["detail"]


def test_login_sets_an_httponly_session_and_logout_ends_it(staff_server: LiveServer) -> None:
    client, csrf = login(staff_server, "agent1")
    cookie = next(c for c in client.cookies.jar if c.name == "gd_staff")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert client.get("/api/me").json()["role"] == "agent"
    # logout without the CSRF token is refused and the session stays
    assert client.post("/logout").status_code == 403
    assert client.get("/api/me").status_code == 200
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
    # the old cookie value is dead on the server, not only forgotten by this client
    with httpx.Client(base_url=staff_server.base_url, cookies={"gd_staff": cookie.value}, timeout=10) as again:
        assert again.get("/api/me").status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_answer(staff_server: LiveServer) -> None:
    answers = []
    for username, password in (("agent1", "nope"), ("nobody", "nope")):
        with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
            token = _form_token(c)
            r = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
            answers.append((r.status_code, "Wrong name or password." in r.text, "gd_staff" in r.cookies))
    assert answers == [(401, True, False), (401, True, False)]


def test_login_without_the_form_token_is_refused(staff_server: LiveServer) -> None:
    with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
        r = c.post("/login", data={"username": "agent1", "password": "agent1-pw", "csrf_token": "forged"})
        assert r.status_code == 403 and "gd_staff" not in r.cookies


def test_next_only_redirects_to_a_local_path(staff_server: LiveServer) -> None:
    for target, expected in (("/ops", "/ops"), ("//evil.example/x", "/ops"), ("https://evil.example", "/ops")):
        with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
            token = _form_token(c)
            r = c.post("/login", data={"username": "ops1", "password": "ops1-pw", "csrf_token": token, "next": target})
            assert r.status_code == 303 and r.headers["location"] == expected


def test_password_guessing_is_rate_limited(staff_server: LiveServer) -> None:
    limit = LoginLimits().pair
    codes = []
    with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
        for _ in range(limit + 2):
            token = _form_token(c)
            codes.append(
                c.post("/login", data={"username": "admin1", "password": "guess", "csrf_token": token}).status_code
            )
        # even the right password is refused from this address while the limit holds
        token = _form_token(c)
        right = c.post("/login", data={"username": "admin1", "password": "admin1-pw", "csrf_token": token})
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
    assert right.status_code == 429


def test_spaces_around_a_name_do_not_buy_extra_guesses(staff_server: LiveServer) -> None:
    limit = LoginLimits().pair
    codes = []
    with httpx.Client(base_url=staff_server.base_url, timeout=10) as c:
        for i in range(limit + 1):
            name = ("ops1", " ops1", "ops1 ", "  ops1  ")[i % 4]
            token = _form_token(c)
            codes.append(
                c.post("/login", data={"username": name, "password": "guess", "csrf_token": token}).status_code
            )
    assert codes[:limit] == [401] * limit and codes[limit] == 429
