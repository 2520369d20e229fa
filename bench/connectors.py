"""Back-office connectors: lookup latency per connector, RPA throughput with the browser pool, and how fast an
outage trips the circuit breaker.

    .venv/bin/python bench/connectors.py [--quick]

Everything runs on 127.0.0.1. Two child processes serve what the connectors talk to: the test shop API
(tests/integration/backoffice/shop_api.py, OAuth2 client credentials, uvicorn) and the demo legacy claims
portal (devtools/claims_portal.py) over a freshly seeded SQLite back office. The bench process runs the
connectors exactly as the router builds them (each behind its circuit breaker), sequentially unless said:

1. Latency p50/p99 per connector: SQL (``SqlBackOffice`` on the seeded file: order status, claim status,
   contract, in turn), REST (order status against the shop, token cached after the first call) and RPA
   (claim status and contract in turn through the shipped robot: login, search, read; one fresh browser
   context per lookup). Every answer is checked against the in-memory fake: a wrong answer fails the bench.
2. RPA lookups per minute: the same N claim lookups through a pool of 1 context and through a pool of 4
   contexts (one browser), with as many concurrent callers as the pool has contexts.
3. Outages: (a) the portal process is killed (connection refused), (b) the portal is replaced by a socket
   that accepts and never answers (every step times out), (c) the shop process is killed. Calls go on, one
   after the other, until the first fast failure (``breaker_open``); measured: seconds from the outage to it,
   against the configured budget (failure_threshold x the connector's per-lookup budget, the worst case).

Writes bench/results/connectors.json (connectors_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import ROOT, free_port, hard_limit, machine, now_iso, summary_ms, versions, write_result

from devtools.claims_portal import DEMO_PASSWORD, DEMO_USER
from knowledge.backoffice import InMemoryBackOffice, SqlBackOffice, seed_backoffice
from knowledge.backoffice.breaker import BreakerConfig, CircuitBreaker
from knowledge.backoffice.browser_pool import BrowserPool, PoolConfig
from knowledge.backoffice.connectors import load_connectors
from knowledge.backoffice.demo import demo_data
from knowledge.backoffice.guard import GuardedBackOffice
from knowledge.backoffice.rest import RestBackOffice
from knowledge.backoffice.rest_config import RestConnector
from knowledge.backoffice.robot import RpaConnector
from knowledge.backoffice.rpa import RpaBackOffice
from knowledge.errors import ConnectorFailure, ConnectorUnavailable

EXAMPLE = ROOT / "knowledge" / "backoffice" / "connectors.example.yaml"
SHOP_TODAY = dt.date(2026, 11, 23)  # the shop API serves demo_data() of this day
SECRETS = {
    "shop_client_secret": "shop-client-secret",
    "claims_portal_user": DEMO_USER,
    "claims_portal_password": DEMO_PASSWORD,
}


# -- child processes ------------------------------------------------------------------------------


@contextmanager
def child(args: list[str], *, url: str, what: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def shop_child(port: int) -> Any:
    return child(
        [
            "-m",
            "uvicorn",
            "--factory",
            "tests.integration.backoffice.shop_api:default_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        url=f"http://127.0.0.1:{port}/api/v2/customers",
        what="the shop API",
    )


def portal_child(port: int, db: Path) -> Any:
    return child(
        ["-m", "devtools.claims_portal", "--port", str(port), "--db", str(db)],
        url=f"http://127.0.0.1:{port}/login",
        what="the claims portal",
    )


@contextmanager
def black_hole(port: int) -> Iterator[None]:
    """A listener that completes TCP handshakes (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(256)
    try:
        yield
    finally:
        sock.close()


# -- measuring ------------------------------------------------------------------------------------


async def timed(calls: Sequence[Callable[[], Awaitable[object]]], expected: Sequence[object]) -> list[float]:
    out = []
    for call, want in zip(calls, expected, strict=True):
        t0 = time.perf_counter()
        got = await call()
        out.append((time.perf_counter() - t0) * 1000)
        if got != want:
            raise AssertionError(f"wrong answer from a connector: {got!r} != {want!r}")
    return out


def guarded(name: str, backoffice: Any, breaker: BreakerConfig) -> GuardedBackOffice:
    return GuardedBackOffice(name, backoffice, CircuitBreaker(name, breaker))


async def until_breaker_opens(call: Callable[[], Awaitable[object]], *, limit: int = 50) -> dict[str, Any]:
    """Call after an outage until the first fast failure; the timeline of failures."""
    started = time.perf_counter()
    events: list[dict[str, Any]] = []
    for _ in range(limit):
        t0 = time.perf_counter()
        try:
            await call()
            events.append({"outcome": "answer", "ms": round((time.perf_counter() - t0) * 1000, 1)})
        except ConnectorUnavailable as exc:
            events.append(
                {
                    "outcome": str(exc.failure),
                    "ms": round((time.perf_counter() - t0) * 1000, 3),
                    "at_s": round(time.perf_counter() - started, 2),
                }
            )
            if exc.failure is ConnectorFailure.BREAKER_OPEN:
                return {
                    "seconds_to_first_fast_failure": events[-1]["at_s"],
                    "fast_failure_ms": events[-1]["ms"],
                    "calls_before_open": len(events) - 1,
                    "events": events,
                }
    raise AssertionError(f"the breaker never opened: {events}")


async def rpa_throughput(
    rpa_config: RpaConnector, shots: Path, lookups: list[tuple[str, str]], expected: Sequence[object], contexts: int
) -> dict[str, Any]:
    pool = BrowserPool(PoolConfig(max_browsers=1, max_contexts=contexts))
    rpa = RpaBackOffice(rpa_config, secrets=SECRETS, pool=pool, screenshots=shots)
    try:
        await pool.warm_up()
        queue = list(enumerate(lookups))

        async def worker() -> None:
            while queue:
                index, (customer, claim) = queue.pop(0)
                if await rpa.claim_status(customer, claim) != expected[index]:
                    raise AssertionError("wrong RPA answer under concurrency")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(contexts)))
        seconds = time.perf_counter() - t0
    finally:
        await rpa.aclose()
    return {
        "pool_contexts": contexts,
        "callers": contexts,
        "lookups": len(lookups),
        "seconds": round(seconds, 2),
        "lookups_per_minute": round(len(lookups) / seconds * 60, 1),
        "peak_contexts": pool.peak,
    }


async def run(quick: bool) -> dict[str, Any]:
    n_fast, n_rpa, n_throughput = (60, 10, 8) if quick else (400, 40, 24)
    today = dt.date.today()
    tmp = Path(tempfile.mkdtemp(prefix="gd-bench-connectors-"))
    db = await seed_backoffice(tmp / "backoffice.db", today=today)
    data = demo_data(today)
    claims = [(c.customer_id, c.claim_number) for c in data.claims]
    contracts = [(c.customer_id, c.policy_number) for c in data.contracts]
    fake, shop_fake = InMemoryBackOffice(today=lambda: today), InMemoryBackOffice(today=lambda: SHOP_TODAY)
    orders = [(o.customer_id, o.order_number) for o in demo_data(SHOP_TODAY).orders]
    shop_port, portal_port = free_port(), free_port()
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("https://shop.example.com", f"http://127.0.0.1:{shop_port}")
        .replace("http://127.0.0.1:8766", f"http://127.0.0.1:{portal_port}")
    )
    if quick:
        text = text.replace("step_timeout_seconds: 5", "step_timeout_seconds: 2")
    config = load_connectors(text, source=str(EXAMPLE), base_dir=EXAMPLE.parent, secrets=SECRETS)
    shop_entry, portal_entry = config.connectors["shop"], config.connectors["claims_portal"]
    rest_spec, rpa_spec = shop_entry.spec, portal_entry.spec
    assert isinstance(rest_spec, RestConnector) and isinstance(rpa_spec, RpaConnector)
    result: dict[str, Any] = {
        "config": {
            "shop": {
                "timeout_seconds": rest_spec.timeout_seconds,
                "budget_seconds": rest_spec.budget_seconds,
                "retry": rest_spec.retry.model_dump(),
                "breaker": shop_entry.breaker.model_dump(),
            },
            "claims_portal": {
                "budget_seconds": rpa_spec.budget_seconds,
                "step_timeout_seconds": rpa_spec.step_timeout_seconds,
                "pool": rpa_spec.pool.model_dump(),
                "breaker": portal_entry.breaker.model_dump(),
            },
        }
    }

    # 1. latency per connector
    sql = SqlBackOffice.from_path(db, today=lambda: today)
    sql_g = guarded("backoffice_db", sql, BreakerConfig())
    calls: list[Callable[[], Awaitable[object]]] = []
    want: list[object] = []
    for i in range(n_fast):
        kind = i % 3
        if kind == 0:
            c, o = orders[i % len(orders)]
            calls.append(partial(sql_g.order_status, c, o))
            want.append(await fake.order_status(c, o))
        elif kind == 1:
            c, n = claims[i % len(claims)]
            calls.append(partial(sql_g.claim_status, c, n))
            want.append(await fake.claim_status(c, n))
        else:
            c, p = contracts[i % len(contracts)]
            calls.append(partial(sql_g.contract, c, p))
            want.append(await fake.contract(c, p))
    await timed(calls[:10], want[:10])  # warm the connection pool
    latency: dict[str, Any] = {"sql": summary_ms(await timed(calls, want))}
    await sql.aclose()

    with shop_child(shop_port) as shop_proc:
        rest = RestBackOffice(rest_spec, secrets=SECRETS, today=lambda: SHOP_TODAY)
        rest_g = guarded("shop", rest, shop_entry.breaker)
        calls = [partial(rest_g.order_status, c, o) for c, o in (orders * n_fast)[:n_fast]]
        want = [await shop_fake.order_status(c, o) for c, o in (orders * n_fast)[:n_fast]]
        await timed(calls[:10], want[:10])  # token fetched, connections open
        latency["rest"] = summary_ms(await timed(calls, want))
        stop(shop_proc)
        rest_outage = await until_breaker_opens(lambda: rest_g.order_status(*orders[0]))
        await rest.aclose()

    shots = tmp / "screenshots"
    with portal_child(portal_port, db) as portal_proc:
        pool = BrowserPool(rpa_spec.pool)
        rpa = RpaBackOffice(rpa_spec, secrets=SECRETS, pool=pool, screenshots=shots)
        rpa_g = guarded("claims_portal", rpa, portal_entry.breaker)
        await pool.warm_up()
        calls, want = [], []
        for i in range(n_rpa):
            if i % 2 == 0:
                c, n = claims[(i // 2) % len(claims)]
                calls.append(partial(rpa_g.claim_status, c, n))
                want.append(await fake.claim_status(c, n))
            else:
                c, p = contracts[(i // 2) % len(contracts)]
                calls.append(partial(rpa_g.contract, c, p))
                want.append(await fake.contract(c, p))
        await timed(calls[:2], want[:2])
        latency["rpa"] = summary_ms(await timed(calls, want))
        result["latency_ms"] = latency

        # 2. RPA throughput, pool of 1 vs pool of 4
        work = (claims * n_throughput)[:n_throughput]
        expected = [await fake.claim_status(c, n) for c, n in work]
        one = await rpa_throughput(rpa_spec, shots, work, expected, 1)
        four = await rpa_throughput(rpa_spec, shots, work, expected, 4)
        result["rpa_throughput"] = {
            "pool_1": one,
            "pool_4": four,
            "speedup": round(four["lookups_per_minute"] / one["lookups_per_minute"], 2),
        }

        # 3a. portal killed: connection refused
        stop(portal_proc)
        refused = await until_breaker_opens(lambda: rpa_g.claim_status(*claims[0]))
    await rpa.aclose()

    # 3b. portal hanging: a fresh connector (closed breaker) against a socket that never answers
    with black_hole(portal_port):
        pool = BrowserPool(rpa_spec.pool)
        rpa = RpaBackOffice(rpa_spec, secrets=SECRETS, pool=pool, screenshots=shots)
        rpa_g = guarded("claims_portal", rpa, portal_entry.breaker)
        await pool.warm_up()
        hanging = await until_breaker_opens(lambda: rpa_g.claim_status(*claims[0]))
        await rpa.aclose()

    threshold = portal_entry.breaker.failure_threshold
    budget = threshold * rpa_spec.budget_seconds
    shop_budget = shop_entry.breaker.failure_threshold * rest_spec.budget_seconds
    result["outage"] = {
        "portal_refused": {
            **refused,
            "budget_seconds": budget,
            "within_budget": refused["seconds_to_first_fast_failure"] <= budget,
        },
        "portal_hanging": {
            **hanging,
            "budget_seconds": budget,
            "within_budget": hanging["seconds_to_first_fast_failure"] <= budget,
        },
        "shop_refused": {
            **rest_outage,
            "budget_seconds": shop_budget,
            "within_budget": rest_outage["seconds_to_first_fast_failure"] <= shop_budget,
        },
        "budget_rule": "failure_threshold x the connector's per-lookup budget_seconds (each failing call can "
        "take at most its budget before the breaker counts it)",
    }
    result["screenshots_kept"] = len(list(shots.glob("*.png")))
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer lookups (about a minute)")
    args = parser.parse_args()
    hard_limit(900)
    load_before = os.getloadavg()
    started = now_iso()
    result = asyncio.run(run(args.quick))
    out = {
        "bench": "connectors",
        "mode": "quick" if args.quick else "full",
        "started": started,
        "finished": now_iso(),
        **result,
        "machine": machine(load_before),
        "versions": versions("httpx", "playwright", "starlette", "uvicorn", "sqlalchemy", "aiosqlite"),
    }
    path = write_result("connectors_quick" if args.quick else "connectors", out)
    lat = out["latency_ms"]
    print(
        f"latency p50/p99 ms: sql {lat['sql']['p50']}/{lat['sql']['p99']}, rest {lat['rest']['p50']}/"
        f"{lat['rest']['p99']}, rpa {lat['rpa']['p50']}/{lat['rpa']['p99']}"
    )
    tp = out["rpa_throughput"]
    print(f"rpa lookups/min: pool 1 {tp['pool_1']['lookups_per_minute']}, pool 4 {tp['pool_4']['lookups_per_minute']}")
    for name, outage in out["outage"].items():
        if isinstance(outage, dict):
            print(
                f"{name}: breaker open after {outage['seconds_to_first_fast_failure']} s "
                f"(budget {outage['budget_seconds']} s, fast failure {outage['fast_failure_ms']} ms)"
            )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
