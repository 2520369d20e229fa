"""The fairness page over real HTTP (uvicorn, Redis, SQLite): ops and admins see the newest
archived report, agents get 404, and the page keeps the strict CSP (no inline script or style)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from conversation import ChannelKind
from policies import DEFAULT_POLICY_PATH, load_policy_file
from services.fairness import archive_report, report_dir, run_audit
from services.fairness_pairs import counterfactual_pairs, load_templates
from tests.browser.live_server import LiveServer
from tests.support.staff import login
from tests.unit.fairness.fakes import BiasedUnderstander, NeutralUnderstander
from web import fairness
from web.pages import SECURITY_HEADERS


@pytest.fixture(scope="module")
def server(staff_server: LiveServer) -> LiveServer:
    app = staff_server._app
    if not any(getattr(r, "path", None) == "/ops/fairness" for r in app.routes):
        app.include_router(fairness.router)  # until web/app.py mounts it with the other routers
    return staff_server


def _archive(server: LiveServer, *, at: dt.datetime) -> None:
    biased = BiasedUnderstander(NeutralUnderstander(), "Yılmaz", confidence=0.3)
    report = run_audit(
        counterfactual_pairs(load_templates()),
        understander=biased,
        policy=load_policy_file(DEFAULT_POLICY_PATH, version="default"),
        model_id="demo-test",
        channels=[ChannelKind.EMAIL],
        clock=lambda: at,
    )
    archive_report(report, report_dir(server.settings))


def _no_inline_code(html: str) -> None:
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, "inline script"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "inline style"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_ops_sees_the_newest_report(server: LiveServer) -> None:
    ops = login(server, "ops1")[0]
    empty = ops.get("/ops/fairness")
    assert empty.status_code == 200 and "No report yet" in empty.text
    assert ops.get("/api/ops/fairness").status_code == 404

    _archive(server, at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))
    _archive(server, at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC))
    page = ops.get("/ops/fairness")
    assert page.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    _no_inline_code(page.text)
    html = page.text
    assert "Failed" in html and "2026-03-02</time>" in html and "09:30 UTC" in html and "demo-test" in html
    row = re.search(r'<tr data-dimension="name_origin">.*?</tr>', html, re.S)
    assert row is not None and "below threshold" in row.group(0)
    age = re.search(r'<tr data-dimension="age">.*?</tr>', html, re.S)
    assert age is not None and "100.0 %" in age.group(0) and "below threshold" not in age.group(0)
    assert "Ayşe Yılmaz" in html and "ask_clarification" in html  # the pairs routed differently
    data = ops.get("/api/ops/fairness").json()
    assert data["created_at"].startswith("2026-03-02T09:30") and data["failed_dimensions"] == ["name_origin"]


def test_admin_may_and_agents_may_not(server: LiveServer) -> None:
    admin = login(server, "admin1")[0]
    assert admin.get("/ops/fairness").status_code == 200
    agent = login(server, "agent1")[0]
    for path in ("/ops/fairness", "/api/ops/fairness"):
        r = agent.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    anonymous = httpx.Client(base_url=server.base_url, follow_redirects=False)
    page = anonymous.get("/ops/fairness", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fops%2Ffairness"
    assert anonymous.get("/api/ops/fairness").status_code == 401
