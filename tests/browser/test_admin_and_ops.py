"""The admin policy page and the ops dashboard in Debian's chromium, under the strict CSP: an admin sees a
bad line marked, publishes after the dry run and rolls back (four-eyes publishing off, as in demo mode;
test_policy_requests_page.py has the four-eyes page); ops watches the dashboard update live when a
signed SMS webhook arrives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import expect

from services.settings import Settings
from tests.browser.conftest import TrackedPage
from tests.browser.live_server import LiveServer, live_server
from tests.support.staff import create_staff, forget_login_attempts
from tests.support.twilio_api import twilio_signature
from web.sms import INBOUND_PATH

FIRST = """\
name: browser
rules:
  - id: angry
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: high}
default: draft_for_approval
"""
BAD = FIRST.replace("fact: anger", "fact: gender")


@pytest.fixture(scope="module")
def live_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser-app")
    with live_server(
        lambda base: Settings(var_dir=var_dir, redis_url=redis_url, public_url=base, policy_four_eyes=False)
    ) as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def _isolated_login_limits(live_app: LiveServer) -> Iterator[None]:
    forget_login_attempts(live_app)
    yield
    forget_login_attempts(live_app)


@pytest.fixture(scope="module")
def staff_app(live_app: LiveServer) -> LiveServer:
    create_staff(live_app, "admin1", "admin")
    create_staff(live_app, "ops1", "ops")
    return live_app


def _login(live: LiveServer, tracked: TrackedPage, username: str, landing: str):  # type: ignore[no-untyped-def]
    page = tracked.page
    page.goto(live.base_url + "/login")
    page.get_by_label("Name").fill(username)
    page.get_by_label("Password").fill(f"{username}-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.base_url + landing)
    return page


def _live_version(live: LiveServer) -> int | None:
    stored = live.call(lambda s: s.policies.active())
    return stored.version if stored else None


def test_an_admin_publishes_after_the_dry_run_then_rolls_back(staff_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    first = staff_app.call(lambda s: s.policies.publish(FIRST, author="setup", message="baseline"))
    tracked = new_page()
    page = _login(staff_app, tracked, "admin1", "/admin/policies")
    expect(page.locator("#live-version")).to_have_text(f"v{first.version}")
    editor = page.locator("#policy-text")
    expect(editor).to_have_value(FIRST)
    expect(page.locator("#validation")).to_have_text("Valid.")

    # a protected attribute: the line is marked while typing, with the reason and the fix
    editor.fill(BAD)
    expect(page.locator('#gutter .gutter-line.bad[data-line="4"]')).to_be_visible()
    expect(page.locator("#problems .problem").first).to_contain_text("Line 4, column 18")
    expect(page.locator("#problems .problem").first).to_contain_text("protected attribute")
    page.locator("#problems .problem-link").first.click()
    assert page.evaluate("() => document.activeElement.id") == "policy-text"

    changed = FIRST.replace("default: draft_for_approval", "default: auto_reply")
    editor.fill(changed)
    expect(page.locator("#validation")).to_have_text("Valid.")
    expect(page.locator("#gutter .gutter-line.bad")).to_have_count(0)
    expect(page.locator("#publish-button")).to_be_disabled()  # no preview yet

    page.get_by_role("button", name="Preview diff and dry run").click()
    expect(page.locator("#dry-run-summary")).to_contain_text("Replayed")
    expect(page.locator("#diff .diff-add")).to_contain_text(["+default: auto_reply"])
    expect(page.locator("#diff .diff-del")).to_contain_text(["-default: draft_for_approval"])
    publish = page.get_by_role("button", name="Publish")
    expect(publish).to_be_enabled()

    # editing after the preview disables publishing until the next preview
    editor.press("End")
    editor.type(" ")
    expect(publish).to_be_disabled()
    editor.fill(changed)
    page.get_by_role("button", name="Preview diff and dry run").click()
    expect(publish).to_be_enabled()
    page.get_by_label("Why this change").fill("answer the rest automatically")
    publish.click()
    expect(page.locator("#live-version")).to_have_text(f"v{first.version + 1}")
    expect(page.locator("#publish-status")).to_have_text(f"Published as v{first.version + 1}. It is live now.")
    expect(page.locator("#history-rows tr").first).to_contain_text("answer the rest automatically")
    assert _live_version(staff_app) == first.version + 1
    assert staff_app.call(lambda s: s.policies.active()).text == changed

    page.locator("#rollback-version").select_option(str(first.version))
    page.locator("#rollback-message").fill("too many automatic answers")
    page.get_by_role("button", name="Roll back").click()
    expect(page.locator("#live-version")).to_have_text(f"v{first.version + 2}")
    expect(page.locator("#history-rows tr").first).to_contain_text(
        f"rollback to v{first.version}: too many automatic answers"
    )
    expect(editor).to_have_value(FIRST)
    live = staff_app.call(lambda s: s.policies.active())
    assert (live.version, live.text, live.rolled_back_from) == (first.version + 2, FIRST, first.version)

    page.reload()  # what the server renders agrees
    expect(page.locator("#live-version")).to_have_text(f"v{first.version + 2}")
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)


def _wait_subscribed(live: LiveServer, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while int(live.call(lambda s: s.redis.pubsub_numsub("gd:live:all"))[0][1]) < 1:
        assert time.monotonic() < deadline, "the dashboard never subscribed to the live bus"
        time.sleep(0.05)


def _post_signed_sms(live: LiveServer, body: str) -> None:
    form = {
        "AccountSid": live.settings.twilio_account_sid,
        "MessageSid": "SM" + f"{time.time_ns():032x}"[-32:],
        "From": "+15017122661",
        "To": live.settings.twilio_from_number,
        "Body": body,
        "NumMedia": "0",
    }
    url = live.settings.public_url + INBOUND_PATH
    signature = twilio_signature(live.settings.twilio_auth_token.get_secret_value(), url, form)
    r = httpx.post(
        url,
        content=urlencode(form).encode(),
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    assert r.status_code == 200, r.text


def test_ops_sees_the_dashboard_update_when_a_message_arrives(staff_app: LiveServer, new_page) -> None:  # type: ignore[no-untyped-def]
    tracked = new_page()
    page = _login(staff_app, tracked, "ops1", "/ops")
    expect(page.locator("#live-status")).to_contain_text("Live")
    inbound = page.locator("#m-inbound-hour")
    expect(inbound).not_to_have_text("–")
    before_inbound = int(inbound.inner_text())
    before_waiting = page.locator("#m-queue-waiting").inner_text()
    page.evaluate("() => { window.__sameDocument = true; }")
    _wait_subscribed(staff_app)

    _post_signed_sms(staff_app, "Where is my order 4711?")
    expect(inbound).to_have_text(str(before_inbound + 1))
    if not before_waiting.endswith("+"):  # "1000+": a backlog too long to count exactly (Redis 6.2)
        expect(page.locator("#m-queue-waiting")).to_have_text(str(int(before_waiting) + 1))
    assert page.evaluate("() => window.__sameDocument") is True  # updated in place, never reloaded
    assert "4711" not in page.locator("main").inner_text()  # ids and counts only
    flow_runs = page.locator("#prefect-flow-runs")
    assert flow_runs.get_attribute("href").startswith("http://127.0.0.1:4200/")
    assert tracked.page_errors == [] and tracked.csp_violations == [], (tracked.page_errors, tracked.console_errors)
