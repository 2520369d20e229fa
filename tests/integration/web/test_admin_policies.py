"""The admin policy API over real HTTP: validation with line/column, preview (diff + dry run over stored
decisions), publish (message, valid text, fresh preview hash), rollback, the audit log, and 404 for
every other role. Here publishing is direct (four-eyes publishing off, as in demo mode); the requests
and approvals of four-eyes publishing are tested in test_policy_four_eyes.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from conversation import ChannelKind, DecisionRecord, InboundMessage, PhoneAddress, Route
from services.ingest import Ingestor
from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.support.staff import STAFF, create_staff, login

BASE = """\
name: test
rules:
  - id: angry
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: high}
default: draft_for_approval
"""
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def staff_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("staff"),
        redis_url=redis_url,
        public_url="https://shop.example.test",
        policy_four_eyes=False,
    )
    with live_server(settings) as server:
        for username, role in STAFF:
            create_staff(server, username, role)
        yield server


@pytest.fixture(scope="module")
def admin(staff_server: LiveServer) -> tuple[httpx.Client, str]:
    return login(staff_server, "admin1")


def _post(client_csrf: tuple[httpx.Client, str], path: str, body: dict) -> httpx.Response:
    client, csrf = client_csrf
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf})


def _live(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.call(lambda s: s.policies.active())


def _audit(server: LiveServer, action: str) -> list[dict]:
    return [e for e in server.call(lambda s: s.audit.entries(limit=500)) if e["action"] == action]


def _publish(admin, text: str, message: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    preview = _post(admin, "/api/policies/preview", {"text": text, "since_days": 7})
    assert preview.status_code == 200, preview.text
    return _post(admin, "/api/policies/publish", {"text": text, "message": message, "sha256": preview.json()["sha256"]})


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (
            "rules:\n  - id: a\n    condition: {fact: anger, op: gte, value: 0.7}\n    then: handoff\n"
            "default: draft_for_approval\n",
            3,
            5,
            ["unknown field 'condition'", "when"],
        ),
        (
            "rules:\n  - id: a\n    when: {fact: gender, op: eq, value: female}\n    then: handoff\n"
            "default: draft_for_approval\n",
            3,
            18,
            ["gender", "protected"],
        ),
        (
            "rules:\n  - id: same\n    when: {fact: anger, op: gte, value: 0.9}\n    then: handoff\n  - id: same\n    when: {fact: anger, op: gte, value: 0.5}\n"
            "    then: auto_reply\ndefault: draft_for_approval\n",
            5,
            9,
            ["duplicate rule id 'same'"],
        ),
    ],
)
def test_validate_names_line_column_and_fix(admin, text: str, line: int, column: int, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    r = _post(admin, "/api/policies/validate", {"text": text})
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is False
    first = next((p for p in body["problems"] if words[0] in p["message"]), body["problems"])
    assert (first["line"], first["column"]) == (line, column), first
    assert all(w in first["message"] + first["hint"] for w in words), first
    assert first["text"].startswith(f"policy.yaml:{line}:{column}:")


def test_validate_accepts_a_good_policy(admin) -> None:  # type: ignore[no-untyped-def]
    body = _post(admin, "/api/policies/validate", {"text": BASE}).json()
    assert body == {"valid": True, "problems": [], "sha256": body["sha256"]} and len(body["sha256"]) == 64


def test_the_page_prefills_the_editor_with_the_live_yaml(staff_server: LiveServer, admin) -> None:  # type: ignore[no-untyped-def]
    assert _publish(admin, BASE + "# page test\n", "page test").status_code == 200
    client, _ = admin
    page = client.get("/admin/policies")
    assert page.status_code == 200
    assert "# page test" in page.text and "page test" in page.text
    live = _live(staff_server)
    assert f'data-version="{live.version}"' in page.text
    assert "<script>" not in page.text and "default-src 'self'" in page.headers["content-security-policy"]


def test_publish_creates_a_version_and_an_audit_entry(staff_server: LiveServer, admin) -> None:  # type: ignore[no-untyped-def]
    before = _live(staff_server)
    text = BASE.replace("0.7", "0.8")
    r = _publish(admin, text, "raise the anger threshold")
    assert r.status_code == 200, r.text
    live = _live(staff_server)
    assert live.version == (before.version if before else 0) + 1 == r.json()["published"]
    assert live.text == text and live.author == "admin1" and live.message == "raise the anger threshold"
    assert r.json()["live"]["version"] == live.version and r.json()["history"][0]["version"] == live.version
    entry = next(e for e in _audit(staff_server, "policy.published") if e["object_id"] == str(live.version))
    assert entry["actor"] == "admin1" and entry["data"]["message"] == "raise the anger threshold"


def test_publish_refuses_a_stale_preview_a_missing_message_and_an_invalid_policy(
    staff_server: LiveServer, admin
) -> None:  # type: ignore[no-untyped-def]
    previewed = BASE.replace("0.7", "0.6")
    preview = _post(admin, "/api/policies/preview", {"text": previewed, "since_days": 1}).json()
    before = _live(staff_server)
    edited = previewed.replace("0.6", "0.65")  # changed after the preview
    stale = _post(admin, "/api/policies/publish", {"text": edited, "message": "m", "sha256": preview["sha256"]})
    assert stale.status_code == 409 and "changed since the preview" in stale.json()["detail"]
    no_message = _post(
        admin, "/api/policies/publish", {"text": previewed, "message": "  ", "sha256": preview["sha256"]}
    )
    assert no_message.status_code == 422 and "message" in no_message.json()["detail"]
    bad = "rules:\n  - id: x\n    then: teleport\ndefault: draft_for_approval\n"
    import hashlib

    invalid = _post(
        admin,
        "/api/policies/publish",
        {"text": bad, "message": "m", "sha256": hashlib.sha256(bad.encode()).hexdigest()},
    )
    assert invalid.status_code == 422 and invalid.json()["problems"][0]["line"] == 3
    assert _live(staff_server) == before  # nothing was published
    # someone else published since the preview: refused as well
    assert _publish(admin, BASE + "# other admin\n", "meanwhile").status_code == 200
    raced = _post(
        admin,
        "/api/policies/publish",
        {"text": previewed, "message": "m", "sha256": preview["sha256"], "base_version": preview["live_version"]},
    )
    assert raced.status_code == 409 and "preview again" in raced.json()["detail"]


def test_preview_shows_the_diff_and_the_route_changes_of_past_turns(staff_server: LiveServer, admin) -> None:  # type: ignore[no-untyped-def]
    assert _publish(admin, BASE, "baseline for the dry run").status_code in (200, 409)

    async def seed(s):  # type: ignore[no-untyped-def]
        ids = []
        for anger, route in ((0.9, Route.HANDOFF), (0.1, Route.DRAFT_FOR_APPROVAL), (0.2, Route.DRAFT_FOR_APPROVAL)):
            n = next(_numbers)
            result = await Ingestor(s).accept(
                InboundMessage(
                    channel=ChannelKind.SMS,
                    external_id=f"SMdry{n:030d}",
                    address=PhoneAddress(number=f"+4915100000{n:03d}"),
                    text="where is my order",
                )
            )
            await s.timeline.save_decision(
                DecisionRecord(
                    conversation_id=result.conversation.id,
                    inbound_message_id=result.message.id,
                    route=route,
                    rule_id="angry" if route is Route.HANDOFF else "default",
                    policy_version="1",
                    reason="seeded",
                    facts={
                        "intent": "order_status",
                        "intent_confidence": 0.95,
                        "channel": "sms",
                        "anger": anger,
                        "not_a_fact_any_more": 1,
                    },
                )
            )
            ids.append(result.message.id)
        return ids

    calm_a, calm_b = staff_server.call(seed)[1:]
    draft = BASE.replace("default: draft_for_approval", "default: auto_reply")
    r = _post(admin, "/api/policies/preview", {"text": draft, "since_days": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "-default: draft_for_approval" in body["diff"] and "+default: auto_reply" in body["diff"]
    assert body["changes"]["default_changed"] is True
    run = body["dry_run"]
    moved = {(t["from_route"], t["to_route"]): t for t in run["transitions"]}
    change = moved[("draft_for_approval", "auto_reply")]
    assert change["count"] >= 2 and {calm_a, calm_b} <= {e["turn_id"] for e in change["examples"]}
    assert moved[("handoff", "handoff")]["count"] >= 1  # the angry turn keeps its route
    assert run["changed"] >= 2 and run["replayed"] == run["total"] >= 3
    invalid = _post(admin, "/api/policies/preview", {"text": "default: nowhere\n", "since_days": 7})
    assert invalid.status_code == 422 and invalid.json()["problems"][0]["line"] == 1


def test_rollback_makes_an_old_version_live_again(staff_server: LiveServer, admin) -> None:  # type: ignore[no-untyped-def]
    assert _publish(admin, BASE + "# first\n", "first").status_code == 200
    first = _live(staff_server)
    assert _publish(admin, BASE + "# second\n", "second").status_code == 200
    r = _post(admin, "/api/policies/rollback", {"version": first.version, "message": "second broke routing"})
    assert r.status_code == 200, r.text
    live = _live(staff_server)
    assert live.version == first.version + 2 == r.json()["published"]
    assert live.text == first.text and live.rolled_back_from == first.version
    assert live.message == f"rollback to v{first.version}: second broke routing"
    entry = next(e for e in _audit(staff_server, "policy.rolled_back") if e["object_id"] == str(live.version))
    assert entry["actor"] == "admin1" and entry["data"] == {"to": first.version, "message": "second broke routing"}
    missing = _post(admin, "/api/policies/rollback", {"version": 99999, "message": "x"})
    assert missing.status_code == 404
    no_message = _post(admin, "/api/policies/rollback", {"version": first.version, "message": ""})
    assert no_message.status_code == 422
    assert _live(staff_server) == live


def test_no_csrf_token_no_write(admin) -> None:  # type: ignore[no-untyped-def]
    client, _ = admin
    assert client.post("/api/policies/validate", json={"text": BASE}).status_code == 403


ADMIN_ROUTES = [
    ("GET", "/admin/policies", None),
    ("GET", "/api/policies", None),
    ("POST", "/api/policies/validate", {"text": BASE}),
    ("POST", "/api/policies/preview", {"text": BASE, "since_days": 7}),
    ("POST", "/api/policies/publish", {"text": BASE, "message": "sneaky", "sha256": "0" * 64}),
    ("POST", "/api/policies/rollback", {"version": 1, "message": "sneaky"}),
    ("POST", "/api/policies/publish", "not json at all"),
]


@pytest.mark.parametrize("username", ["agent1", "ops1"])
def test_other_roles_get_404_on_every_admin_route(staff_server: LiveServer, username: str) -> None:
    client, csrf = login(staff_server, username)
    before = _live(staff_server)
    missing = client.get("/admin/no-such-page")
    assert missing.status_code == 404
    for method, path, body in ADMIN_ROUTES:
        kwargs = {"headers": {"X-CSRF-Token": csrf, "Accept": "text/html" if method == "GET" else "application/json"}}
        if isinstance(body, dict):
            kwargs["json"] = body
        elif body is not None:
            kwargs["content"] = body
        r = client.request(method, path, **kwargs)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"}), (method, path, r.text)
    assert _live(staff_server) == before
