"""The RPA connector in real Chromium against the demo legacy claims portal: the shipped robot's answers,
scoping, the pool's cap, failure screenshots with PII masked, an outage, and the router over all three kinds
of connector. One browser pool (and event loop) per module: Chromium starts once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from devtools.claims_portal import DEMO_PASSWORD, DEMO_USER, create_app
from knowledge.backoffice import InMemoryBackOffice, Lookups, SqlBackOffice
from knowledge.backoffice.breaker import BreakerConfig, BreakerState, CircuitBreaker
from knowledge.backoffice.browser_pool import BrowserPool, PoolConfig
from knowledge.backoffice.build import build_backoffice
from knowledge.backoffice.connectors import load_connectors
from knowledge.backoffice.guard import GuardedBackOffice
from knowledge.backoffice.robot import RpaConnector
from knowledge.backoffice.robot_reader import load_robot, load_robot_file
from knowledge.backoffice.rpa import RpaBackOffice
from knowledge.errors import ConnectorFailure, ConnectorUnavailable, LookupNotFound
from tests.integration.backoffice.conftest import (
    ANNA,
    BACKOFFICE_DIR,
    JOHN,
    LENA,
    PORTAL_SECRETS,
    ROBOT,
    TODAY,
    example_text,
)
from tests.integration.backoffice.pngread import read_png
from tests.integration.backoffice.shop_api import SECRETS, ShopState, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

FAKE = InMemoryBackOffice(today=lambda: TODAY)
CLAIMS = ("CLM-2026-0001", "CLM-2026-0002", "CLM-2026-0003")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    browsers = BrowserPool(PoolConfig(max_browsers=1, max_contexts=2))
    try:
        await browsers.warm_up()
        yield browsers
    finally:
        await browsers.aclose()


def robot_backoffice(
    pool: BrowserPool,
    portal: str,
    shots: Path,
    *,
    robot_text: str | None = None,
    secrets: dict[str, str] | None = None,
    step_timeout: float = 5.0,
) -> RpaBackOffice:
    robot = load_robot(robot_text, source="robot.yaml") if robot_text is not None else load_robot_file(ROBOT)
    config = RpaConnector(
        name="claims_portal", base_url=portal, robot=robot, budget_seconds=20, step_timeout_seconds=step_timeout
    )
    return RpaBackOffice(config, secrets=secrets or PORTAL_SECRETS, pool=pool, screenshots=shots)


async def test_the_robot_reads_claims_and_contracts_like_the_sql_back_office(
    pool: BrowserPool, portal: str, tmp_path: Path
) -> None:
    rpa = robot_backoffice(pool, portal, tmp_path)
    for customer, claim in zip((ANNA, JOHN, LENA), CLAIMS, strict=True):
        answer = await rpa.claim_status(customer, claim)
        assert answer is not None and answer == await FAKE.claim_status(customer, claim)
    for customer, policy in ((ANNA, "POL-100234"), (ANNA, "POL-100512"), (LENA, "POL-200930")):
        assert await rpa.contract(customer, policy) == await FAKE.contract(customer, policy)
    anna = await rpa.claim_status(ANNA, CLAIMS[0])
    assert anna is not None and anna.open_documents == ("photos", "repair_estimate")
    assert not list(tmp_path.glob("*.png"))


async def test_another_customers_claim_answers_like_a_missing_one(
    pool: BrowserPool, portal: str, tmp_path: Path
) -> None:
    rpa = robot_backoffice(pool, portal, tmp_path)
    assert await rpa.claim_status(JOHN, CLAIMS[0]) is None  # Anna's: the portal shows it, the robot says no
    assert await rpa.claim_status(JOHN, "CLM-2026-0999") is None  # the portal's "No claim found"
    assert await rpa.contract(JOHN, "POL-100234") is None
    lookups = Lookups(rpa, timeout=30)
    for claim in (CLAIMS[0], "CLM-2026-0999"):
        with pytest.raises(LookupNotFound):
            await lookups.claim_status(JOHN, claim)


async def test_the_pool_caps_concurrent_contexts(portal: str, tmp_path: Path) -> None:
    for cap in (1, 3):
        capped = BrowserPool(PoolConfig(max_browsers=1, max_contexts=cap))
        try:
            rpa = robot_backoffice(capped, portal, tmp_path)
            answers = await asyncio.gather(
                *(rpa.claim_status(c, n) for c, n in zip((ANNA, JOHN, LENA), CLAIMS, strict=True))
            )
            assert list(answers) == [
                await FAKE.claim_status(c, n) for c, n in zip((ANNA, JOHN, LENA), CLAIMS, strict=True)
            ]
            assert capped.peak == cap and capped.launched == 1
        finally:
            await capped.aclose()


async def test_a_failed_run_keeps_a_screenshot_with_the_personal_data_masked(
    pool: BrowserPool, portal: str, tmp_path: Path
) -> None:
    broken = ROBOT.read_text(encoding="utf-8").replace(
        '    - read: {field: customer_id, selector: "#claim-customer"}',
        '    - read: {field: customer_id, selector: "#claim-customer"}\n    - wait_for: "#a-field-the-portal-dropped"',
    )
    rpa = robot_backoffice(pool, portal, tmp_path, robot_text=broken, step_timeout=1.0)
    with pytest.raises(ConnectorUnavailable) as caught:
        await rpa.claim_status(ANNA, CLAIMS[0])
    error = caught.value
    assert (error.failure, error.connector) == (ConnectorFailure.TIMEOUT, "claims_portal")
    assert "step 11 (wait_for)" in error.reason  # 5 login steps, then the 6th of the lookup
    [image] = list(tmp_path.glob("claims_portal-claim_status-*.png"))
    note = json.loads(image.with_suffix(".json").read_text())
    assert (note["step"], note["step_kind"], note["failure"]) == (11, "wait_for", "timeout")
    for private in (CLAIMS[0], ANNA, "Anna", "Schmidt", DEMO_PASSWORD, "POL-100234"):
        assert private not in image.name and private not in json.dumps(note) and private not in error.reason

    async with pool.page(origin=portal) as page:  # where the masked elements sit on that page
        await page.goto(f"{portal}/login")
        await page.fill("input[name=username]", DEMO_USER)
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("input[type=submit]")
        await page.goto(f"{portal}/claims?claim_number={CLAIMS[0]}")
        boxes = {
            s: await page.locator(s).bounding_box()
            for s in (
                "#claim-customer-name",
                "#claim-customer",
                "#claim-status",
                "#claim-incident",
                "td.label >> nth=0",
            )
        }
    png = read_png(image, max_rows=int(max(b["y"] + b["height"] for b in boxes.values() if b)) + 2)

    def magenta_share(selector: str) -> float:
        box = boxes[selector]
        assert box is not None
        points = [
            (int(box["x"] + box["width"] * fx), int(box["y"] + box["height"] * fy))
            for fx in (0.2, 0.5, 0.8)
            for fy in (0.3, 0.5, 0.7)
        ]
        pink = [png.pixel(x, y) for x, y in points]
        return sum(1 for r, g, b in pink if r > 230 and g < 40 and b > 230) / len(pink)

    for masked in ("#claim-customer-name", "#claim-customer", "#claim-status", "#claim-incident"):
        assert magenta_share(masked) == 1.0, masked
    assert magenta_share("td.label >> nth=0") == 0.0  # labels stay readable for ops


async def test_a_wrong_password_fails_in_the_login_steps(pool: BrowserPool, portal: str, tmp_path: Path) -> None:
    rpa = robot_backoffice(
        pool, portal, tmp_path, secrets={**PORTAL_SECRETS, "claims_portal_password": "nope"}, step_timeout=1.0
    )
    with pytest.raises(ConnectorUnavailable) as caught:
        await rpa.contract(ANNA, "POL-100234")
    assert "step 5 (wait_for)" in caught.value.reason
    assert len(list(tmp_path.glob("*.png"))) == 1


async def test_a_portal_outage_trips_the_breaker(pool: BrowserPool, backoffice_db: Path, tmp_path: Path) -> None:
    with serve_in_thread(create_app(backoffice_db, today=lambda: TODAY), what="a second portal") as url:
        guarded = GuardedBackOffice(
            "claims_portal",
            robot_backoffice(pool, url, tmp_path),
            CircuitBreaker("claims_portal", BreakerConfig(failure_threshold=2, open_seconds=60)),
        )
        assert await guarded.claim_status(ANNA, CLAIMS[0]) is not None
    failures = []
    for _ in range(3):
        with pytest.raises(ConnectorUnavailable) as caught:
            await guarded.claim_status(ANNA, CLAIMS[0])
        failures.append(caught.value.failure)
    assert failures == [ConnectorFailure.DOWN, ConnectorFailure.DOWN, ConnectorFailure.BREAKER_OPEN]
    assert guarded.breaker.state is BreakerState.OPEN
    assert len(list(tmp_path.glob("*.png"))) == 2  # the fast failure took no browser at all


async def test_one_config_routes_to_rest_rpa_and_sql(
    shop_server: ShopState, portal: str, backoffice_db: Path, tmp_path: Path
) -> None:
    shop_server.reset()
    secrets = {**SECRETS, **PORTAL_SECRETS}
    config = load_connectors(
        example_text(shop_url=shop_server.base_url, portal_url=portal),
        source="connectors.yaml",
        base_dir=BACKOFFICE_DIR,
        secrets=secrets,
    )
    sql = SqlBackOffice.from_path(backoffice_db, today=lambda: TODAY)
    backoffice = build_backoffice(
        config, secrets=secrets, provided={"backoffice_db": sql}, screenshots=tmp_path, today=lambda: TODAY
    )
    lookups = Lookups(backoffice, timeout=30)
    try:
        assert await lookups.order_status(ANNA, "#10023") == await FAKE.order_status(ANNA, "10023")
        assert shop_server.hits["order"] == 1
        assert await lookups.claim_status(ANNA, "clm-2026-0001") == await FAKE.claim_status(ANNA, CLAIMS[0])
        assert await lookups.contract(LENA, "POL200930") == await FAKE.contract(LENA, "POL-200930")
        assert await lookups.coverage(ANNA, "POL-100234") == await FAKE.coverage(ANNA, "POL-100234")
        assert await lookups.return_eligibility(JOHN, "10024") == await FAKE.return_eligibility(JOHN, "10024")
        assert set(backoffice.breaker_states().values()) == {BreakerState.CLOSED}
    finally:
        await backoffice.aclose()
        await sql.aclose()
