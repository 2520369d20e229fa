"""The admin API of web/gdpr.py over real HTTP handling (ASGI) with real sessions: roles, CSRF, the
export, and an erasure that needs a second admin; a legal hold answers 409 with its reason."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from conversation import ChannelKind, InboundMessage, PhoneAddress
from services.gdpr_export import SCHEMA_PATH
from services.ingest import Ingestor
from services.passwords import hash_password
from tests.integration.gdpr.conftest import Stack
from web import auth, gdpr


@pytest.fixture
async def app(stack: Stack) -> AsyncIterator[FastAPI]:
    app = FastAPI()
    app.state.services = stack.services
    app.state.settings = stack.settings
    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)  # type: ignore[arg-type]
    app.include_router(auth.router)
    app.include_router(gdpr.router)
    for username, role in (("admin1", "admin"), ("admin2", "admin"), ("agent1", "agent")):
        await stack.services.users.upsert(
            username, display_name=username.title(), role=role, password_hash=hash_password(f"{username}-pw")
        )
    yield app


async def _login(app: FastAPI, username: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    r = await client.post(
        "/login", data={"username": username, "password": f"{username}-pw", "csrf_token": token.group(1), "next": ""}
    )
    assert r.status_code == 303, r.text[:300]
    me = await client.get("/api/me")
    return client, me.json()["csrf_token"]


async def _contact(stack: Stack, number: str, sid: str) -> str:
    res = await Ingestor(stack.services).accept(
        InboundMessage(
            channel=ChannelKind.SMS, external_id=sid, address=PhoneAddress(number=number), text="Bitte alles loeschen"
        )
    )
    return res.conversation.contact_id


async def test_export_and_four_eyes_erasure_over_http(app: FastAPI, stack: Stack) -> None:
    contact = await _contact(stack, "+4915790000071", "SM" + "f1" * 16)
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    agent, agent_csrf = await _login(app, "agent1")
    admin1, csrf1 = await _login(app, "admin1")
    admin2, csrf2 = await _login(app, "admin2")
    export = f"/api/gdpr/contacts/{contact}/export"
    try:
        assert (await anonymous.get(export, headers={"Accept": "application/json"})).status_code == 401
        missing = await agent.get("/api/gdpr/nothing-here")
        forbidden = await agent.get(export)
        assert (
            (forbidden.status_code, forbidden.json())
            == (missing.status_code, missing.json())
            == (404, {"detail": "Not Found"})
        )
        r = await agent.post(
            "/api/gdpr/erasure-requests", json={"contact_id": contact}, headers={"X-CSRF-Token": agent_csrf}
        )
        assert r.status_code == 404

        r = await admin1.get(export)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(r.json())
        assert "+4915790000071" in r.text

        assert (await admin1.post("/api/gdpr/erasure-requests", json={"contact_id": contact})).status_code == 403
        bad = await admin1.post(
            "/api/gdpr/erasure-requests", json={"contact_id": "nope"}, headers={"X-CSRF-Token": csrf1}
        )
        assert bad.status_code == 422
        r = await admin1.post(
            "/api/gdpr/erasure-requests", json={"contact_id": contact}, headers={"X-CSRF-Token": csrf1}
        )
        assert r.status_code == 201, r.text
        request_id = r.json()["request"]["id"]
        assert contact not in r.text  # the request is shown by its pseudonym

        own = await admin1.post(
            f"/api/gdpr/erasure-requests/{request_id}/approve", json={}, headers={"X-CSRF-Token": csrf1}
        )
        assert own.status_code == 409 and "second admin" in own.json()["detail"]
        done = await admin2.post(
            f"/api/gdpr/erasure-requests/{request_id}/approve", json={}, headers={"X-CSRF-Token": csrf2}
        )
        assert done.status_code == 200, done.text
        assert done.json()["receipt"]["status"] == "completed"
        assert done.json()["receipt"]["approved_by"] == "admin2"
        assert (await admin1.get(export)).status_code == 404
        listed = (await admin1.get("/api/gdpr/erasure-requests")).json()["requests"]
        assert [r["id"] for r in listed] == [request_id] and contact not in json.dumps(listed)

        held = await _contact(stack, "+4915790000072", "SM" + "f2" * 16)
        r = await admin1.post(
            f"/api/gdpr/contacts/{held}/holds", json={"reason": "case 2027-4"}, headers={"X-CSRF-Token": csrf1}
        )
        assert r.status_code == 201, r.text
        hold_id = r.json()["hold"]["id"]
        r = await admin1.post("/api/gdpr/erasure-requests", json={"contact_id": held}, headers={"X-CSRF-Token": csrf1})
        blocked = await admin2.post(
            f"/api/gdpr/erasure-requests/{r.json()['request']['id']}/approve", json={}, headers={"X-CSRF-Token": csrf2}
        )
        assert blocked.status_code == 409 and "case 2027-4" in blocked.json()["holds"][0]["reason"]
        released = await admin2.post(f"/api/gdpr/holds/{hold_id}/release", json={}, headers={"X-CSRF-Token": csrf2})
        assert released.status_code == 200
    finally:
        for client in (anonymous, agent, admin1, admin2):
            await client.aclose()
