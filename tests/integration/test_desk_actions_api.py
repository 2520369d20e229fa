"""The desk's lifecycle, assignment and canned-reply API over real HTTP: wrong input gets an answer a
person can act on (what, and how to fix it), and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conversation import ConversationStatus
from conversation.sql.desk import DeskQueries, DeskState
from tests.browser.live_server import LiveServer
from tests.integration.web.test_inbox_actions import (
    RecordingRelay,
    await_agent,
    desk_stack,
    ingest,
    sms_inbound,
)
from tests.support.staff import login
from tests.support.twilio_api import LocalTwilioApi


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-api")) as s:
        yield s


@pytest.fixture(scope="module")
def agent(stack) -> Iterator[tuple[httpx.Client, str]]:  # type: ignore[no-untyped-def]
    client, csrf = login(stack[0], "agent1")
    yield client, csrf
    client.close()


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[tuple[httpx.Client, str]]:  # type: ignore[no-untyped-def]
    client, csrf = login(stack[0], "admin1")
    yield client, csrf
    client.close()


def _post(who: tuple[httpx.Client, str], path: str, body: dict[str, Any]) -> httpx.Response:
    client, csrf = who
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf})


def _handed_off(server: LiveServer, number: str) -> str:
    cid, _ = ingest(server, sms_inbound("Hallo", number))
    server.call(
        lambda s: s.messages.route_conversation(
            cid, ConversationStatus.HANDED_OFF, queue="api", sla_due_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        )
    )
    return cid


def _state(server: LiveServer, cid: str) -> DeskState:
    row = server.call(lambda s: DeskQueries(s.db).row(cid))
    assert row is not None
    return row.desk_state


def test_state_changes_refuse_what_does_not_fit(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    cid = _handed_off(server, "+4915100000401")
    url = f"/api/conversations/{cid}/state"

    r = _post(agent, url, {"state": "snoozed"})
    assert r.status_code == 422 and "Choose when the snooze ends" in r.json()["detail"]
    r = _post(agent, url, {"state": "snoozed", "snoozed_until": "tomorrow morning"})
    assert r.status_code == 422 and "use YYYY-MM-DDTHH:MM (Europe/Berlin)" in r.json()["detail"]
    r = _post(agent, url, {"state": "snoozed", "snoozed_until": "2020-01-01T09:00"})
    assert r.status_code == 409 and "in the future" in r.json()["detail"]
    r = _post(agent, url, {"state": "done"})
    assert r.status_code == 422
    r = _post(agent, url, {"state": "open"})
    assert r.status_code == 409 and "already open" in r.json()["detail"]
    assert _state(server, cid) is DeskState.OPEN

    assert _post(agent, url, {"state": "resolved"}).json() == {"ok": True, "state": "resolved", "before": "open"}
    assert _post(agent, url, {"state": "closed"}).status_code == 200
    r = _post(agent, url, {"state": "open"})
    assert r.status_code == 409 and "closed" in r.json()["detail"]

    # a draft waiting for approval is decided first
    drafted, mid = ingest(server, sms_inbound("Kann ich zurückgeben?", "+4915100000402"))
    await_agent(server, drafted, mid)
    r = _post(agent, f"/api/conversations/{drafted}/state", {"state": "resolved"})
    assert r.status_code == 409 and "approve, edit or reject it first" in r.json()["detail"]
    assert _state(server, drafted) is DeskState.OPEN


def test_assign_and_move_refuse_unknown_agents_and_bad_queue_names(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    cid = _handed_off(server, "+4915100000403")
    r = _post(agent, f"/api/conversations/{cid}/assign", {"username": "ops1"})
    assert r.status_code == 409 and "no agent called 'ops1'" in r.json()["detail"]  # ops is not an agent
    r = _post(agent, f"/api/conversations/{cid}/move", {"queue": "claims; drop table"})
    assert r.status_code == 409 and "A queue name is" in r.json()["detail"]
    assert _post(agent, f"/api/conversations/{cid}/assign", {"username": "agent1"}).status_code == 200
    r = _post(agent, f"/api/conversations/{cid}/assign", {"username": "agent1"})
    assert r.status_code == 409 and "already assigned to agent1" in r.json()["detail"]
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.assignee == "agent1" and conv.queue == "api"
    assert _post(agent, f"/api/conversations/{cid}/move", {"queue": "billing"}).status_code == 200
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.assignee is None and conv.queue == "billing"


def test_canned_replies_are_checked_and_only_admins_change_them(stack, agent, admin) -> None:  # type: ignore[no-untyped-def]
    body = {"title": "Greeting", "language": "fr", "text": "Bonjour {name}"}
    assert _post(admin, "/api/canned", body).status_code == 422  # de or en only
    assert _post(agent, "/api/canned", {**body, "language": "en"}).status_code == 404  # agents: no such route
    first = _post(admin, "/api/canned", {**body, "language": "en", "text": "Hello {name}"})
    assert first.status_code == 200
    again = _post(admin, "/api/canned", {**body, "language": "en", "text": "Hi {name}"})
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    rid = first.json()["id"]
    changed = _post(admin, "/api/canned", {**body, "language": "en", "text": "Hi {name}", "id": rid})
    assert changed.status_code == 200 and changed.json()["id"] == rid
    assert _post(admin, f"/api/canned/{rid}/delete", {}).status_code == 200
    assert _post(admin, f"/api/canned/{rid}/delete", {}).status_code == 404
