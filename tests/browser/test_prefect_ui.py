"""Ops open a turn in the Prefect UI, in Chromium: after logging in with the server's login, the
worker's flow run lists each turn's steps as task runs, the link /ops gives for a turn opens the turn's
own task run, and a turn whose step raised shows Failed there and in its flow run. The server runs with
the environment `glassdesk run` gives it (basic auth, task-run recorder, API logs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conversation import ChannelKind, ChatSession, InboundMessage
from devtools.demo import load_demo
from runtime.compose import open_container
from runtime.supervisor import prefect_env
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.ingest import Ingestor
from services.ops_metrics import PrefectLinks, prefect_basic_auth
from services.settings import Settings
from tests.browser.conftest import TrackedPage
from tests.support.prefect_server import free_port, prefect_server


@dataclass(frozen=True)
class Ran:
    ui_url: str
    auth: str
    ok_message: str
    ok_run: str
    failed_message: str
    failed_run: str
    failed_turn: str  # the failed turn's own task run, where /ops/prefect/turns/<id> leads


async def _turn(settings: Settings, text: str, n: int, *, broken: bool = False) -> tuple[str, str, str]:
    from flows import steps

    original = steps.look_up

    async def look_up(deps, work, **_kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("look-up service exploded")

    if broken:
        steps.look_up = look_up  # type: ignore[assignment]
    try:
        async with open_container(settings) as services:
            result = await Ingestor(services).accept(
                InboundMessage(
                    channel=ChannelKind.CHAT,
                    external_id=f"00000000-0000-4000-9000-{n:012d}",
                    address=ChatSession(session_id=f"session-prefect-ui-{n}"),
                    text=text,
                )
            )
            runner = await TurnRunner.create(services)
            worker = worker_for(services, runner.handle_batch, name=f"test-prefect-ui-{n}")
            try:
                await worker.run_once(block_ms=500)
            finally:
                await runner.aclose()  # ends the worker's open flow run, as a worker's shutdown does
            links = PrefectLinks(settings)
            deadline = time.monotonic() + 30
            while (turn := await links.turn_run_of(result.message.id)) is None:
                assert time.monotonic() < deadline, "the turn's task runs never reached the Prefect server"
                await asyncio.sleep(0.5)
            run = await links.flow_run_of(result.message.id)
            assert run is not None
            return result.message.id, run, turn
    finally:
        steps.look_up = original  # type: ignore[assignment]


@pytest.fixture(scope="module")
def ran(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    port = free_port()
    var: Path = tmp_path_factory.mktemp("prefect-ui")
    own_db = f"{redis_url}{'&' if '?' in redis_url else '?'}db=7"  # apart from the other browser modules
    settings = Settings(
        var_dir=var, redis_url=own_db, prefect_api_url=f"http://127.0.0.1:{port}/api", prefect_port=port
    )
    env = prefect_env(settings)
    asyncio.run(load_demo(settings))
    with prefect_server(port, env) as api:
        auth = env["PREFECT_API_AUTH_STRING"]
        with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: auth}):
            ok = asyncio.run(_turn(settings, "Where is my order 10023?", 88001))
            failed = asyncio.run(_turn(settings, "Where is my order 10024?", 88002, broken=True))
        # the failed run's state reaches the server before the UI is opened
        with httpx.Client(auth=prefect_basic_auth(auth), timeout=10) as http:
            assert http.get(f"{api}/flow_runs/{failed[1]}").json()["state_type"] == "FAILED"
        yield Ran(api.removesuffix("/api"), auth, ok[0], ok[1], failed[0], failed[1], failed[2])


def _loopback_only(tracked: TrackedPage) -> list[str]:
    """The Prefect UI bundles a product-analytics client; nothing may leave 127.0.0.1 in tests."""
    blocked: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "blob:", "data:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    tracked.page.context.route("**/*", route)  # type: ignore[attr-defined]
    return blocked


def _log_in(tracked: TrackedPage, ran: Ran) -> None:
    from playwright.sync_api import expect

    _loopback_only(tracked)
    page = tracked.page
    page.goto(ran.ui_url + "/login")  # type: ignore[attr-defined]
    password = page.locator("input[type=password]")  # type: ignore[attr-defined]
    expect(password).to_be_visible()
    password.fill(ran.auth)
    page.get_by_role("button", name="Login").click()  # type: ignore[attr-defined]
    expect(password).to_have_count(0)


def test_without_the_login_the_ui_shows_only_the_login_form(ran: Ran, new_page: Callable[..., TrackedPage]) -> None:
    from playwright.sync_api import expect

    tracked = new_page()
    _loopback_only(tracked)
    page = tracked.page
    page.goto(f"{ran.ui_url}/runs/flow-run/{ran.ok_run}?tab=Task+Runs")  # type: ignore[attr-defined]
    expect(page.get_by_text(f"load_turn[{ran.ok_message}]")).to_have_count(0)  # type: ignore[attr-defined]
    page.goto(ran.ui_url + "/login")  # type: ignore[attr-defined]
    expect(page.locator("input[type=password]")).to_be_visible()  # type: ignore[attr-defined]


def test_a_turn_shows_its_steps_and_a_failed_turn_shows_failed(ran: Ran, new_page: Callable[..., TrackedPage]) -> None:
    from playwright.sync_api import expect

    tracked = new_page()
    _log_in(tracked, ran)
    page = tracked.page
    page.goto(f"{ran.ui_url}/runs/flow-run/{ran.ok_run}?tab=Task+Runs")  # type: ignore[attr-defined]
    for step in ("load_turn", "understand_turn", "look_up", "decide"):
        expect(page.get_by_text(f"{step}[{ran.ok_message}]").first).to_be_visible()  # type: ignore[attr-defined]

    page.goto(f"{ran.ui_url}/runs/flow-run/{ran.failed_run}")  # type: ignore[attr-defined]
    expect(page.get_by_text("Failed").first).to_be_visible()  # type: ignore[attr-defined]
    page.goto(f"{ran.ui_url}/runs/flow-run/{ran.failed_run}?tab=Task+Runs")  # type: ignore[attr-defined]
    expect(page.get_by_text(f"look_up[{ran.failed_message}]").first).to_be_visible()  # type: ignore[attr-defined]

    # where /ops sends ops for that turn: the turn's own task run, Failed
    page.goto(f"{ran.ui_url}/runs/task-run/{ran.failed_turn}")  # type: ignore[attr-defined]
    expect(page.get_by_text(f"turn[{ran.failed_message}]").first).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_text("Failed").first).to_be_visible()  # type: ignore[attr-defined]
