"""Four-eyes publishing on the admin page, in Debian's chromium under the strict CSP: one admin asks for
a change and cannot approve it; a second admin sees the diff and approves it; a rollback request is
rejected by the other admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TrackedPage
from tests.browser.live_server import LiveServer
from tests.support.staff import create_staff, forget_login_attempts

FIRST = """\
name: four-eyes-page
rules:
  - id: angry
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: high}
default: draft_for_approval
"""


@pytest.fixture(scope="module")
def admins_app(live_app: LiveServer) -> Iterator[LiveServer]:
    forget_login_attempts(live_app)
    create_staff(live_app, "admin1", "admin")
    create_staff(live_app, "admin2", "admin")
    yield live_app
    forget_login_attempts(live_app)


def _login(live: LiveServer, tracked: TrackedPage, username: str):  # type: ignore[no-untyped-def]
    page = tracked.page
    page.goto(live.base_url + "/login?next=/admin/policies")
    page.get_by_label("Name").fill(username)
    page.get_by_label("Password").fill(f"{username}-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.base_url + "/admin/policies")
    return page


def test_one_admin_asks_another_approves(admins_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    first = admins_app.call(lambda s: s.policies.publish(FIRST, author="setup", message="baseline"))
    asker = new_page()
    page = _login(admins_app, asker, "admin1")
    expect(page.locator(".four-eyes-note")).to_be_visible()
    changed = FIRST.replace("default: draft_for_approval", "default: auto_reply")
    page.locator("#policy-text").fill(changed)
    page.get_by_role("button", name="Preview diff and dry run").click()
    ask = page.get_by_role("button", name="Ask for approval")
    expect(ask).to_be_enabled()
    page.get_by_label("Why this change").fill("answer the rest automatically")
    ask.click()
    expect(page.locator("#publish-status")).to_contain_text("it goes live once another admin approves it")
    mine = page.locator("#pending-requests .request").first
    expect(mine).to_contain_text("asked by admin1")
    expect(mine).to_contain_text("You asked for this change: another admin approves it.")
    expect(mine.get_by_role("button", name="Approve and publish")).to_be_disabled()
    expect(mine.get_by_role("button", name="Withdraw")).to_be_enabled()
    expect(page.locator("#live-version")).to_have_text(f"v{first.version}")  # nothing live yet
    assert admins_app.call(lambda s: s.policies.active()).version == first.version

    approver = new_page()
    other = _login(admins_app, approver, "admin2")
    request = other.locator("#pending-requests .request").first
    expect(request).to_contain_text("answer the rest automatically")
    request.locator("summary").click()
    expect(request.locator(".diff-add")).to_contain_text(["+default: auto_reply"])
    request.get_by_role("button", name="Approve and publish").click()
    expect(other.locator("#requests-status")).to_contain_text("is live now")
    expect(other.locator("#live-version")).to_have_text(f"v{first.version + 1}")
    expect(other.locator("#history-rows tr").first).to_contain_text("admin1 (approved by admin2)")
    expect(other.locator("#pending-requests")).to_contain_text("Nothing waits for approval.")
    live = admins_app.call(lambda s: s.policies.active())
    assert (live.version, live.text, live.approved_by) == (first.version + 1, changed, "admin2")

    # admin2 asks to roll back; admin1 rejects it
    other.locator("#rollback-version").select_option(str(first.version))
    other.locator("#rollback-message").fill("too many automatic answers")
    other.get_by_role("button", name="Ask to roll back").click()
    expect(other.locator("#rollback-status")).to_contain_text("it goes live once another admin approves it")
    page.reload()
    rollback = page.locator("#pending-requests .request").first
    expect(rollback).to_contain_text(f"roll back to v{first.version}, asked by admin2")
    rollback.get_by_label("Note for", exact=False).fill("not yet")
    rollback.get_by_role("button", name="Reject").click()
    expect(page.locator("#requests-status")).to_contain_text("rejected: nothing changed")
    expect(page.locator("#recent-requests tr").first).to_contain_text("rejected: not yet")
    assert admins_app.call(lambda s: s.policies.active()).version == first.version + 1
    for tracked in (asker, approver):
        assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)
