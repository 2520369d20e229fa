"""Circuit breakers: closed -> open after the threshold -> fail fast -> half-open probe -> closed or open again.
Every connector sits behind one, and the router composes them from one config."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from knowledge.backoffice import InMemoryBackOffice, Lookups
from knowledge.backoffice.breaker import BreakerConfig, BreakerState, CircuitBreaker
from knowledge.backoffice.build import build_backoffice
from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.connectors import load_connectors
from knowledge.backoffice.guard import GuardedBackOffice
from knowledge.errors import BackOfficeUnavailable, ConnectorFailure, ConnectorUnavailable, LookupFailed
from tests.integration.backoffice.conftest import ANNA, BACKOFFICE_DIR, PORTAL_SECRETS, TODAY, example_text
from tests.integration.backoffice.shop_api import SECRETS, Misbehave, ShopState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_fails_fast_probes_once_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("portal", BreakerConfig(failure_threshold=3, open_seconds=10), clock=clock)

    def state() -> BreakerState:
        return breaker.state

    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert state() is BreakerState.CLOSED
    breaker.succeeded()  # a success resets the count: failures must be consecutive
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert state() is BreakerState.OPEN and not breaker.allow()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert state() is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failed()
    assert state() is BreakerState.OPEN  # the probe failed: open for another 10 s
    clock.now += 10
    assert breaker.allow()
    breaker.succeeded()
    assert state() is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_a_cancelled_probe_lets_the_next_caller_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("shop", BreakerConfig(failure_threshold=1, open_seconds=1), clock=clock)
    breaker.failed()
    clock.now += 1
    assert breaker.allow()
    breaker.abandoned()
    assert breaker.state is BreakerState.HALF_OPEN and breaker.allow()


async def test_an_open_breaker_answers_at_once_without_calling_the_back_office() -> None:
    clock = Clock()
    flaky = InMemoryBackOffice(today=lambda: TODAY, failures=[BackOfficeUnavailable("locked")] * 2)
    guarded = GuardedBackOffice(
        "db", flaky, CircuitBreaker("db", BreakerConfig(failure_threshold=2, open_seconds=5), clock=clock)
    )
    for _ in range(2):
        with pytest.raises(BackOfficeUnavailable):
            await guarded.contract(ANNA, "POL-100234")
    with pytest.raises(ConnectorUnavailable) as caught:
        await guarded.contract(ANNA, "POL-100234")
    assert (caught.value.failure, caught.value.connector, caught.value.attempts) == (
        ConnectorFailure.BREAKER_OPEN,
        "db",
        0,
    )
    assert flaky.calls == 2  # the third call never reached it
    clock.now += 5
    assert await guarded.contract(ANNA, "POL-100234") is not None  # the probe succeeds: closed again
    assert guarded.breaker.state is BreakerState.CLOSED


async def test_not_found_is_an_answer_and_keeps_the_breaker_closed() -> None:
    guarded = GuardedBackOffice(
        "db", InMemoryBackOffice(today=lambda: TODAY), CircuitBreaker("db", BreakerConfig(failure_threshold=1))
    )
    for _ in range(3):
        assert await guarded.claim_status("CUST-1002", "CLM-2026-0001") is None
    assert guarded.breaker.state is BreakerState.CLOSED


async def test_a_budget_overrun_is_a_timeout_failure() -> None:
    slow = InMemoryBackOffice(today=lambda: TODAY, delay=0.5)
    guarded = GuardedBackOffice(
        "db", slow, CircuitBreaker("db", BreakerConfig(failure_threshold=1)), budget_seconds=0.05
    )
    with pytest.raises(ConnectorUnavailable) as caught:
        await guarded.order_status(ANNA, "10023")
    assert caught.value.failure is ConnectorFailure.TIMEOUT
    assert guarded.breaker.state is BreakerState.OPEN


async def test_lookups_do_not_retry_an_open_breaker() -> None:
    flaky = InMemoryBackOffice(today=lambda: TODAY, failures=[BackOfficeUnavailable("down")] * 10)
    guarded = GuardedBackOffice("db", flaky, CircuitBreaker("db", BreakerConfig(failure_threshold=2, open_seconds=60)))
    lookups = Lookups(guarded, attempts=3, backoff=0.0)
    with pytest.raises(ConnectorUnavailable) as caught:  # 2 transient failures open it; attempt 3 fails fast
        await lookups.order_status(ANNA, "10023")
    assert caught.value.failure is ConnectorFailure.BREAKER_OPEN
    assert isinstance(caught.value, LookupFailed)
    assert flaky.calls == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_router_keeps_each_connectors_breaker_apart(shop: ShopState, tmp_path: Path) -> None:
    text = (
        example_text(shop_url=f"http://127.0.0.1:{_closed_port()}")
        .replace("retry: {attempts: 3, backoff_seconds: 0.2,", "retry: {attempts: 2, backoff_seconds: 0.01,")
        .replace(
            "breaker: {failure_threshold: 5, open_seconds: 30}", "breaker: {failure_threshold: 2, open_seconds: 30}"
        )
    )
    secrets = {**SECRETS, **PORTAL_SECRETS}
    config = load_connectors(text, source="connectors.yaml", base_dir=BACKOFFICE_DIR, secrets=secrets)
    sql = InMemoryBackOffice(today=lambda: TODAY)
    backoffice = build_backoffice(
        config, secrets=secrets, provided={"backoffice_db": sql}, screenshots=tmp_path / "shots", today=lambda: TODAY
    )
    try:
        failures = []
        for _ in range(3):
            with pytest.raises(ConnectorUnavailable) as caught:
                await backoffice.order_status(ANNA, "10023")
            failures.append(caught.value.failure)
        assert failures == [ConnectorFailure.DOWN, ConnectorFailure.DOWN, ConnectorFailure.BREAKER_OPEN]
        assert backoffice.breaker_states() == {
            "shop": BreakerState.OPEN,
            "claims_portal": BreakerState.CLOSED,
            "backoffice_db": BreakerState.CLOSED,
        }
        coverage = await backoffice.coverage(ANNA, "POL-100234")  # routed to the provided back office
        assert coverage == await sql.coverage(ANNA, "POL-100234")
        assert backoffice.route_of(LookupName.COVERAGE) == "backoffice_db"
        assert not shop.hits  # the live shop was never involved
    finally:
        await backoffice.aclose()


async def test_a_shop_that_recovers_closes_the_breaker_after_the_probe(shop: ShopState, tmp_path: Path) -> None:
    text = (
        example_text(shop_url=shop.base_url)
        .replace("retry: {attempts: 3, backoff_seconds: 0.2,", "retry: {attempts: 1, backoff_seconds: 0.01,")
        .replace(
            "breaker: {failure_threshold: 5, open_seconds: 30}", "breaker: {failure_threshold: 2, open_seconds: 0.3}"
        )
    )
    secrets = {**SECRETS, **PORTAL_SECRETS}
    config = load_connectors(text, source="connectors.yaml", base_dir=BACKOFFICE_DIR)
    backoffice = build_backoffice(
        config,
        secrets=secrets,
        provided={"backoffice_db": InMemoryBackOffice()},
        screenshots=tmp_path / "shots",
        today=lambda: TODAY,
    )
    shop.script["order"] = [Misbehave.server_error(500)] * 2
    try:
        for _ in range(2):
            with pytest.raises(ConnectorUnavailable):
                await backoffice.order_status(ANNA, "10023")
        with pytest.raises(ConnectorUnavailable) as caught:
            await backoffice.order_status(ANNA, "10023")
        assert caught.value.failure is ConnectorFailure.BREAKER_OPEN
        assert shop.hits["order"] == 2
        await asyncio.sleep(0.35)
        assert backoffice.breaker_states()["shop"] is BreakerState.HALF_OPEN
        assert await backoffice.order_status(ANNA, "10023") is not None
        assert backoffice.breaker_states()["shop"] is BreakerState.CLOSED
    finally:
        await backoffice.aclose()
