"""Four-eyes publishing (on by default outside demo mode), over real HTTP and through the real CLI on the
same database: a publish or rollback is a request; the requester cannot approve it; a second admin can;
the page and `glassdesk policy` refuse and allow the same things; the audit log has every step."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from runtime.policy_cli import policy_app
from tests.browser.live_server import LiveServer
from tests.support.staff import create_staff, login

BASE = """\
name: four-eyes
rules:
  - id: angry
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: high}
default: draft_for_approval
"""
runner = CliRunner()


@pytest.fixture(scope="module")
def admins(staff_server: LiveServer) -> dict[str, tuple[httpx.Client, str]]:
    create_staff(staff_server, "admin2", "admin")
    return {name: login(staff_server, name) for name in ("admin1", "admin2")}


@pytest.fixture
def cli(staff_server: LiveServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`glassdesk policy …` in this process, configured like the server (same var/, same Redis)."""
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(staff_server.settings.var_dir))
    monkeypatch.setenv("GLASSDESK_REDIS_URL", str(staff_server.settings.redis_url))
    monkeypatch.setenv("GLASSDESK_PUBLIC_URL", staff_server.settings.public_url)

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(policy_app, list(args))

    return run


def _post(client_csrf: tuple[httpx.Client, str], path: str, body: dict) -> httpx.Response:
    client, csrf = client_csrf
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf})


def _request_publish(admin: tuple[httpx.Client, str], text: str, message: str) -> httpx.Response:
    preview = _post(admin, "/api/policies/preview", {"text": text, "since_days": 7})
    assert preview.status_code == 200, preview.text
    return _post(
        admin,
        "/api/policies/publish",
        {
            "text": text,
            "message": message,
            "sha256": preview.json()["sha256"],
            "base_version": preview.json()["live_version"],
        },
    )


def _live(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.call(lambda s: s.policies.active())


def _audit(server: LiveServer, action: str, object_id: str) -> list[dict]:
    return [
        e
        for e in server.call(lambda s: s.audit.entries(limit=1000))
        if e["action"] == action and e["object_id"] == object_id
    ]


def _approve(admin: tuple[httpx.Client, str], request_id: str) -> httpx.Response:
    return _post(admin, f"/api/policies/requests/{request_id}/approve", {})


def test_a_publish_waits_for_a_second_admin(staff_server: LiveServer, admins) -> None:  # type: ignore[no-untyped-def]
    before = _live(staff_server)
    text = BASE + "# waits\n"
    asked = _request_publish(admins["admin1"], text, "route anger to people")
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["requested"]
    assert _live(staff_server) == before  # nothing is live yet
    pending = {r["id"]: r for r in asked.json()["requests"]["pending"]}
    assert pending[request_id]["requested_by"] == "admin1" and pending[request_id]["mine"] is True
    assert "+# waits" in pending[request_id]["diff"] or before is None

    own = _approve(admins["admin1"], request_id)
    assert own.status_code == 409 and "another admin must approve it" in own.json()["detail"]
    assert _live(staff_server) == before

    seen_by_admin2 = {r["id"]: r for r in admins["admin2"][0].get("/api/policies").json()["requests"]["pending"]}
    assert seen_by_admin2[request_id]["mine"] is False
    approved = _approve(admins["admin2"], request_id)
    assert approved.status_code == 200, approved.text
    live = _live(staff_server)
    assert live.text == text and live.author == "admin1" and live.approved_by == "admin2"
    assert approved.json()["published"] == live.version == (before.version if before else 0) + 1
    assert approved.json()["history"][0]["approved_by"] == "admin2"

    again = _approve(admins["admin2"], request_id)
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    assert _live(staff_server).version == live.version
    assert _audit(staff_server, "policy.change_requested", request_id)[0]["actor"] == "admin1"
    assert _audit(staff_server, "policy.request_approved", request_id)[0]["actor"] == "admin2"
    published = _audit(staff_server, "policy.published", str(live.version))[0]
    assert published["actor"] == "admin1" and published["data"]["approved_by"] == "admin2"


def test_reject_withdraw_and_a_request_overtaken_by_another(staff_server: LiveServer, admins) -> None:  # type: ignore[no-untyped-def]
    first = _request_publish(admins["admin1"], BASE + "# first of two\n", "one").json()["requested"]
    second = _request_publish(admins["admin1"], BASE + "# second of two\n", "two").json()["requested"]
    third = _request_publish(admins["admin2"], BASE + "# third\n", "three").json()["requested"]
    assert _approve(admins["admin2"], first).status_code == 200
    overtaken = _approve(admins["admin2"], second)  # it was based on the version before `first` went live
    assert overtaken.status_code == 409 and "went live after" in overtaken.json()["detail"]
    closed = {r["id"]: r for r in admins["admin1"][0].get("/api/policies").json()["requests"]["recent"]}
    assert closed[second]["status"] == "superseded"
    rejected = _post(admins["admin1"], f"/api/policies/requests/{third}/reject", {"note": "not now"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    mine = _request_publish(admins["admin2"], BASE + "# withdrawn\n", "changed my mind").json()["requested"]
    withdrawn = _post(admins["admin2"], f"/api/policies/requests/{mine}/reject", {})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert _approve(admins["admin1"], mine).status_code == 409
    assert _audit(staff_server, "policy.request_rejected", third)[0]["data"]["note"] == "not now"
    unknown = _approve(admins["admin1"], "pr_" + "0" * 26)
    assert unknown.status_code == 404


def test_a_rollback_is_a_request_too(staff_server: LiveServer, admins) -> None:  # type: ignore[no-untyped-def]
    base = _request_publish(admins["admin1"], BASE + "# rollback base\n", "base").json()["requested"]
    target = _approve(admins["admin2"], base).json()["published"]
    on_top = _request_publish(admins["admin1"], BASE + "# on top\n", "on top").json()["requested"]
    assert _approve(admins["admin2"], on_top).status_code == 200
    asked = _post(admins["admin2"], "/api/policies/rollback", {"version": target, "message": "on top broke it"})
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["requested"]
    assert _approve(admins["admin2"], request_id).status_code == 409
    done = _approve(admins["admin1"], request_id)
    assert done.status_code == 200, done.text
    live = _live(staff_server)
    assert live.rolled_back_from == target and live.text == BASE + "# rollback base\n"
    assert live.message == f"rollback to v{target}: on top broke it" and live.approved_by == "admin1"
    already = _post(admins["admin1"], "/api/policies/rollback", {"version": live.version, "message": "x"})
    assert already.status_code == 409 and "already live" in already.json()["detail"]


def test_the_page_and_the_cli_refuse_and_allow_the_same(
    staff_server: LiveServer,
    admins,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(BASE + "# from the cli\n")
    before = _live(staff_server)

    # not an admin account: refused (the page only ever asks as the logged-in admin)
    nobody = cli("publish", str(policy), "-m", "cli change", "--author", "cli")
    assert nobody.exit_code == 2 and "not an admin account" in nobody.output
    agent = cli("publish", str(policy), "-m", "cli change", "--author", "agent1")
    assert agent.exit_code == 2 and "not an admin account" in agent.output

    asked = cli("publish", str(policy), "-m", "cli change", "--author", "admin1")
    assert asked.exit_code == 0, asked.output
    request_id = re.search(r"requested (pr_\w+)", asked.output).group(1)  # type: ignore[union-attr]
    assert _live(staff_server) == before
    listed = cli("requests")
    assert request_id in listed.output and "admin1: cli change" in listed.output

    # the requester is refused on both sides, with the same reason
    by_cli = cli("approve", request_id, "--by", "admin1")
    by_page = _approve(admins["admin1"], request_id)
    assert by_cli.exit_code == 2 and by_page.status_code == 409
    reason = "admin1 asked for " + request_id + ": another admin must approve it"
    assert reason in by_cli.output and reason in by_page.json()["detail"]
    assert cli("approve", request_id, "--by", "ops1").exit_code == 2  # not an admin
    assert _live(staff_server) == before

    ok = cli("approve", request_id, "--by", "admin2")
    assert ok.exit_code == 0, ok.output
    live = _live(staff_server)
    assert live.text == policy.read_text() and (live.author, live.approved_by) == ("admin1", "admin2")
    assert f"policy version {live.version} is live" in ok.output
    assert "approved by admin2" in cli("list").output

    # the other way round: asked on the page, refused and approved through the CLI
    page_request = _request_publish(admins["admin2"], BASE + "# from the page\n", "page change").json()["requested"]
    assert cli("approve", page_request, "--by", "admin2").exit_code == 2
    assert cli("approve", page_request, "--by", "admin1").exit_code == 0
    assert _live(staff_server).approved_by == "admin1"
    closed = cli("approve", page_request, "--by", "admin1")
    assert closed.exit_code == 2 and "already approved" in closed.output


def test_the_cli_rollback_prints_its_request(staff_server: LiveServer, admins, cli) -> None:  # type: ignore[no-untyped-def]
    live = _live(staff_server)
    assert live is not None and live.version >= 2
    asked = cli("rollback", str(live.version - 1), "--author", "admin2", "-m", "back")
    assert asked.exit_code == 0, asked.output
    request_id = re.search(r"requested (pr_\w+)", asked.output).group(1)  # type: ignore[union-attr]
    rejected = cli("reject", request_id, "--by", "admin1", "--note", "keep it")
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    assert _live(staff_server) == live
    stored = staff_server.call(lambda s: s.policies.get_request(request_id))
    assert (stored.status.value, stored.decided_by, stored.decision_note) == ("rejected", "admin1", "keep it")
    assert stored.sha256 == hashlib.sha256(stored.text.encode()).hexdigest()
