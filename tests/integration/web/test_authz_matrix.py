"""The authorization matrix: every staff route against every role (and no login at all).

- no session: pages redirect to /login, the JSON API answers 401;
- a role that may not use a route gets exactly the answer of a route that does not exist;
- a role that may use it gets the page, or, for a write without its CSRF token, 403 (the role check
  passed and the CSRF check refused it).
A new staff route that is missing from this table fails the completeness test.
"""

from __future__ import annotations

import httpx
import pytest

from tests.browser.live_server import LiveServer
from tests.support.staff import login

AGENT, OPS, ADMIN = "agent1", "ops1", "admin1"
CID = "conv_00000000000000000000000000"  # well-formed, unknown
MID = "msg_00000000000000000000000000"
RID = "pr_00000000000000000000000000"  # a policy request id
CTID = "ct_00000000000000000000000000"  # a contact id
ERID = "er_00000000000000000000000000"  # an erasure request id
HID = "lh_00000000000000000000000000"  # a legal hold id
CRID = "cr_00000000000000000000000000"  # a canned reply id
MGID = "mg_00000000000000000000000000"  # a contact merge id
ATID = "att_00000000000000000000000000"  # an attachment id
ATTACHMENT = f"/inbox/c/{CID}/messages/{MID}/attachments/{ATID}"

# (method, path, users allowed); admin may use every route
ROUTES: list[tuple[str, str, set[str]]] = [
    ("GET", "/inbox", {AGENT, ADMIN}),
    ("GET", "/inbox/gaps", {AGENT, ADMIN}),
    ("GET", "/api/inbox/conversations", {AGENT, ADMIN}),
    ("GET", "/api/inbox/events", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/approve", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/send-edited", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/reject", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/take-over", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/hand-back", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/reply", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/notes", {AGENT, ADMIN}),
    ("POST", f"/api/messages/{MID}/intent", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/state", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/assign", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/move", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/viewing", {AGENT, ADMIN}),
    ("GET", f"/api/conversations/{CID}/canned", {AGENT, ADMIN}),
    ("POST", f"/api/conversations/{CID}/verify-email", {AGENT, ADMIN}),
    ("POST", f"/api/contacts/{CTID}/merge", {AGENT, ADMIN}),
    ("POST", f"/api/merges/{MGID}/undo", {AGENT, ADMIN}),
    ("GET", "/inbox/canned", {ADMIN}),
    ("POST", "/api/canned", {ADMIN}),
    ("POST", f"/api/canned/{CRID}/delete", {ADMIN}),
    ("GET", "/ops", {OPS, ADMIN}),
    ("GET", "/api/ops/metrics", {OPS, ADMIN}),
    ("GET", "/api/ops/events", {OPS, ADMIN}),
    ("GET", f"/ops/prefect/turns/{MID}", {OPS, ADMIN}),
    ("GET", "/admin/policies", {ADMIN}),
    ("GET", ATTACHMENT, {AGENT, ADMIN}),
    ("GET", "/api/desk/presence", {AGENT, ADMIN}),
    ("POST", "/api/desk/presence/heartbeat", {AGENT, ADMIN}),
    ("POST", "/api/desk/presence", {AGENT, ADMIN}),
    ("GET", "/admin/people", {ADMIN}),
    ("POST", "/api/desk/queues/{queue}", {ADMIN}),
    ("POST", "/api/desk/agents/{username}", {ADMIN}),
    ("GET", "/api/policies", {ADMIN}),
    ("POST", "/api/policies/validate", {ADMIN}),
    ("POST", "/api/policies/preview", {ADMIN}),
    ("POST", "/api/policies/publish", {ADMIN}),
    ("POST", "/api/policies/rollback", {ADMIN}),
    ("POST", f"/api/policies/requests/{RID}/approve", {ADMIN}),
    ("POST", f"/api/policies/requests/{RID}/reject", {ADMIN}),
    ("GET", "/account/password", {AGENT, OPS, ADMIN}),
    ("POST", "/account/password", {AGENT, OPS, ADMIN}),
    ("GET", "/ops/fairness", {OPS, ADMIN}),
    ("GET", "/api/ops/fairness", {OPS, ADMIN}),
    ("GET", f"/api/gdpr/contacts/{CTID}/export", {ADMIN}),
    ("GET", "/api/gdpr/erasure-requests", {ADMIN}),
    ("POST", "/api/gdpr/erasure-requests", {ADMIN}),
    ("POST", f"/api/gdpr/erasure-requests/{ERID}/approve", {ADMIN}),
    ("POST", f"/api/gdpr/erasure-requests/{ERID}/reject", {ADMIN}),
    ("POST", f"/api/gdpr/contacts/{CTID}/holds", {ADMIN}),
    ("POST", f"/api/gdpr/holds/{HID}/release", {ADMIN}),
]
# GETs of one resource that does not exist in the test (no fairness report yet, an unknown contact)
MISSING_RESOURCE_GETS = {
    ATTACHMENT,
    "/api/ops/fairness",
    f"/api/gdpr/contacts/{CTID}/export",
    f"/api/conversations/{CID}/canned",
}
# GETs that answer with a redirect to another service (the turn's run in the Prefect UI)
REDIRECT_GETS = {f"/ops/prefect/turns/{MID}"}
# the conversation page has a path parameter; for an unknown id everyone gets 404, so it is
# checked separately (identical 404s) below
STAFF_PREFIXES = ("/inbox", "/ops", "/admin", "/api/", "/account")
OPEN_TO_ALL_STAFF = {"/api/me"}


@pytest.fixture(scope="module")
def clients(staff_server: LiveServer) -> dict[str | None, tuple[httpx.Client, str]]:
    out: dict[str | None, tuple[httpx.Client, str]] = {
        None: (httpx.Client(base_url=staff_server.base_url, timeout=10), "")
    }
    for user in (AGENT, OPS, ADMIN):
        out[user] = login(staff_server, user)
    return out


def _call(client: httpx.Client, method: str, path: str, *, csrf: str | None = None) -> tuple[int, str, str]:
    headers = {"Accept": "text/html" if method == "GET" and not path.startswith("/api/") else "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    with client.stream(method, path, headers=headers, json={} if method == "POST" else None) as r:
        body = "" if r.headers.get("content-type", "").startswith("text/event-stream") else r.read().decode()
        return r.status_code, r.headers.get("location", ""), body


def _flat(routes):  # type: ignore[no-untyped-def]
    """Routes of the app, with included routers opened up (FastAPI keeps them as one entry)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _flat(route.original_router.routes)
        else:
            yield route


def test_every_staff_route_is_in_the_matrix(staff_server: LiveServer) -> None:
    app = staff_server._app
    served = {
        (m, r.path)
        for r in _flat(app.routes)
        for m in getattr(r, "methods", set()) or set()
        if r.path.startswith(STAFF_PREFIXES) and r.path not in OPEN_TO_ALL_STAFF and m in {"GET", "POST"}
    }
    table = {
        (
            m,
            p.replace(CID, "{conversation_id}")
            .replace(MID, "{message_id}")
            .replace(RID, "{request_id}")
            .replace(CTID, "{contact_id}")
            .replace(ERID, "{request_id}")
            .replace(HID, "{hold_id}")
            .replace(CRID, "{reply_id}")
            .replace(MGID, "{merge_id}")
            .replace(ATID, "{attachment_id}"),
        )
        for m, p, _ in ROUTES
    }
    table.add(("GET", "/inbox/c/{conversation_id}"))
    assert served - table == set(), "add these routes to the authorization matrix"
    assert table - served == set(), "the matrix names routes the app does not serve"


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_role_against_each_route(clients, method: str, path: str, allowed: set[str]) -> None:  # type: ignore[no-untyped-def]
    anon, _ = clients[None]
    not_found = _call(anon, "GET", "/no-such-route")
    assert not_found[0] == 404

    status, location, _ = _call(anon, method, path)
    if method == "GET" and not path.startswith("/api/"):
        assert status == 303 and location.startswith("/login?next=")
    else:
        assert status == 401

    for user in (AGENT, OPS, ADMIN):
        client, csrf = clients[user]
        status, location, body = _call(client, method, path)
        if user not in allowed:
            assert (status, body) == (not_found[0], not_found[2]), f"{user} must not learn that {path} exists"
        elif method == "GET" and path in MISSING_RESOURCE_GETS:
            # the role passes the check; the thing asked for does not exist in this test (an unknown id
            # answers like a missing route, for every role, as the conversation page does)
            assert status == 404, f"{user} may use {path}"
        elif method == "GET" and path in REDIRECT_GETS:
            assert status == 303 and not location.startswith("/login"), f"{user} may use {path}"
        elif method == "GET":
            assert status == 200, f"{user} may use {path}"
        else:
            assert status == 403 and "security token" in body, f"{user} passes the role check; CSRF still applies"


def test_a_conversation_page_is_the_same_404_for_unknown_ids_and_forbidden_roles(clients) -> None:  # type: ignore[no-untyped-def]
    answers = {}
    for user in (AGENT, OPS, ADMIN):
        client, _ = clients[user]
        for cid in (CID, "not-an-id", "../../etc/passwd"):
            answers[(user, cid)] = _call(client, "GET", f"/inbox/c/{cid}")[::2]
    assert len(set(answers.values())) == 1 and next(iter(answers.values()))[0] == 404
