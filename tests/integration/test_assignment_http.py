"""The presence and admin routes of ``web.desk_people`` over real HTTP: roles (a role that may not use
a route gets the 404 of a missing one), CSRF on writes, and errors a person can act on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.support.staff import STAFF, create_staff, forget_login_attempts, login


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from web import desk_people

    settings = Settings(var_dir=tmp_path_factory.mktemp("people"), redis_url=redis_url)
    with live_server(settings) as s:
        app = s._app
        if not any(getattr(r, "path", "") == "/admin/people" for r in app.routes):  # until web/app.py has it
            app.include_router(desk_people.router)
        for username, role in STAFF:
            create_staff(s, username, role)
        forget_login_attempts(s)
        try:
            yield s
        finally:
            forget_login_attempts(s)


def _json(client: httpx.Client, path: str, csrf: str, body: object) -> httpx.Response:
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf, "Accept": "application/json"})


def test_an_agent_heartbeats_and_toggles_away_and_others_see_it(server: LiveServer) -> None:
    agent, csrf = login(server, "agent1")
    beat = _json(agent, "/api/desk/presence/heartbeat", csrf, {})
    assert beat.status_code == 200
    assert beat.json() == {"username": "agent1", "presence": "online", "mode": "online", "heartbeat_s": 20}
    away = _json(agent, "/api/desk/presence", csrf, {"mode": "away"})
    assert away.json()["presence"] == "away"
    assert _json(agent, "/api/desk/presence/heartbeat", csrf, {}).json()["presence"] == "away"  # stays away
    admin, _ = login(server, "admin1")
    listed = {a["username"]: a["presence"] for a in admin.get("/api/desk/presence").json()["agents"]}
    assert listed["agent1"] == "away" and "ops1" not in listed
    bad = _json(agent, "/api/desk/presence", csrf, {"mode": "busy"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["mode"]
    assert agent.post("/api/desk/presence/heartbeat", json={}).status_code == 403  # no CSRF token


def test_only_admins_configure_and_bad_input_says_how_to_fix_it(server: LiveServer) -> None:
    missing = httpx.get(server.base_url + "/no-such-route")
    ops, ops_csrf = login(server, "ops1")
    for method, path in (("GET", "/api/desk/presence"), ("GET", "/admin/people")):
        r = ops.request(method, path, headers={"Accept": "application/json"})
        assert (r.status_code, r.text) == (404, missing.text)
    r = _json(ops, "/api/desk/queues/claims", ops_csrf, {"auto_assign": True, "skills": []})
    assert (r.status_code, r.text) == (404, missing.text)
    agent, agent_csrf = login(server, "agent1")
    r = _json(agent, "/api/desk/agents/agent1", agent_csrf, {"capacity": 3, "skills": []})
    assert (r.status_code, r.text) == (404, missing.text)

    admin, csrf = login(server, "admin1")
    assert _json(admin, "/api/desk/queues/claims", csrf, {"auto_assign": True, "skills": ["German"]}).json() == {
        "ok": True
    }
    r = _json(admin, "/api/desk/queues/claims", csrf, {"auto_assign": True, "skills": ["ok", "no good"]})
    assert r.status_code == 422 and "skills[1] 'no good' is not a skill name" in r.json()["detail"]
    r = _json(admin, "/api/desk/agents/agent1", csrf, {"capacity": 500, "skills": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["capacity"]
    r = _json(admin, "/api/desk/agents/nobody", csrf, {"capacity": 2, "skills": []})
    assert r.status_code == 404 and "no agent called 'nobody'" in r.json()["detail"]
    assert _json(admin, "/api/desk/agents/agent1", csrf, {"capacity": 2, "skills": ["german"]}).json() == {"ok": True}
    page = admin.get("/admin/people", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert 'data-queue="claims"' in page.text and 'value="german"' in page.text
    actions = [e["action"] for e in server.call(lambda s: s.audit.entries())]
    assert {"desk.queue_configured", "desk.agent_configured", "desk.presence_set"} <= set(actions)
