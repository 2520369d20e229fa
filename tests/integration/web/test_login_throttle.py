"""Wrong passwords slow the guesser down, not the real user: the (name, address) pair waits first, then the
guessing address, and the name-wide limit still lets in the addresses the account logged in from before.
Real HTTP from distinct loopback addresses (127.0.0.x), real Redis; the audit log has every attempt and
never a password."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from conversation.rediskit import connect_redis
from services.login_throttle import LoginLimits, LoginThrottle, Throttled
from tests.browser.live_server import LiveServer

LIMITS = LoginLimits()


def _client(server: LiveServer, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.0.0.0/8 address reaches the server)."""
    return httpx.Client(base_url=server.base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address))


def _try(client: httpx.Client, username: str, password: str) -> int:
    """One login attempt as a fresh browser would make it (no session yet); the HTTP status."""
    client.cookies.clear()
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1), "next": ""}
    ).status_code


class _ClientsByAddress(dict[str, httpx.Client]):
    """``clients[address]``: one client per source address, made on first use."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__()
        self._server = server

    def __missing__(self, address: str) -> httpx.Client:
        self[address] = _client(self._server, address)
        return self[address]


@pytest.fixture
def clients(staff_server: LiveServer) -> Iterator[_ClientsByAddress]:
    made = _ClientsByAddress(staff_server)
    yield made
    for c in made.values():
        c.close()


def test_someone_hammering_a_name_cannot_lock_the_real_user_out(staff_server: LiveServer, clients) -> None:  # type: ignore[no-untyped-def]
    attacker, user = clients["127.0.0.2"], clients["127.0.0.1"]
    codes = [_try(attacker, "admin1", f"guess{i}") for i in range(3 * LIMITS.pair)]  # more than the old lockout (10)
    assert codes[: LIMITS.pair] == [401] * LIMITS.pair and set(codes[LIMITS.pair :]) == {429}
    assert _try(attacker, "admin1", "admin1-pw") == 429  # the guesser's pair waits, even with the password
    assert _try(user, "admin1", "admin1-pw") == 303  # the real user, from their own address, gets in

    # the attacker moves on to other names from the same address: then the address itself waits
    others = [f"nobody{i}" for i in range(LIMITS.address)]
    codes = [_try(attacker, name, "guess") for name in others for _ in range(2)]
    assert 429 in codes and _try(attacker, "ops1", "ops1-pw") == 429
    assert _try(user, "ops1", "ops1-pw") == 303  # everyone else is unaffected
    assert _try(clients["127.0.0.3"], "ops1", "ops1-pw") == 303


def test_a_spread_out_guesser_is_stopped_but_not_at_the_users_known_address(
    staff_server: LiveServer,  # type: ignore[no-untyped-def]
    clients,
) -> None:
    known, fresh = clients["127.0.0.1"], clients["127.0.1.1"]
    assert _try(known, "agent1", "agent1-pw") == 303  # the account's usual address
    per_address = LIMITS.pair
    addresses = [f"127.0.2.{i}" for i in range(1, LIMITS.name // per_address + 1)]
    for address in addresses:  # each address stays under its own limits; the name-wide one fills up
        assert [_try(clients[address], "agent1", "wrong") for _ in range(per_address)] == [401] * per_address
    assert _try(fresh, "agent1", "agent1-pw") == 429  # an address never seen for this account waits
    assert _try(known, "agent1", "agent1-pw") == 303  # the known one does not
    assert _try(fresh, "ops1", "ops1-pw") == 303  # and other accounts are unaffected


def test_attempts_are_audited_without_passwords(staff_server: LiveServer, clients) -> None:  # type: ignore[no-untyped-def]
    secret_guess = "Correct-Horse-Battery-" + str(time.time_ns())
    attacker = clients["127.0.3.1"]
    for _ in range(LIMITS.pair):
        assert _try(attacker, "admin1", secret_guess) == 401
    assert _try(attacker, "nobody-at-all", secret_guess) == 401
    entries = staff_server.call(lambda s: s.audit.entries(limit=500))
    assert secret_guess not in repr(entries)
    failed = [e for e in entries if e["action"] == "login_failed" and e["data"]["client"] == "127.0.3.1"]
    assert len(failed) == LIMITS.pair + 1
    assert {e["actor"] for e in failed} == {"admin1", "unknown"}  # a mistyped name is not stored
    throttled = [e for e in entries if e["action"] == "login_throttled" and e["data"]["client"] == "127.0.3.1"]
    assert [e["data"]["scope"] for e in throttled] == [Throttled.PAIR.value]  # once, when the pair closed
    assert _try(clients["127.0.0.1"], "admin1", "admin1-pw") == 303
    login = staff_server.call(lambda s: s.audit.entries(limit=1))[0]
    assert (login["action"], login["actor"], login["data"]["client"]) == ("login", "admin1", "127.0.0.1")


async def test_the_windows_slide(redis_url: str) -> None:
    client = connect_redis(redis_url)
    try:
        throttle = LoginThrottle(
            client, limits=LoginLimits(pair=2, address=3, name=4, window_s=1), prefix=f"gd:test:{uuid.uuid4().hex}:"
        )
        assert await throttle.failed("Ada", "10.0.0.1") == []
        assert await throttle.failed("ada ", "10.0.0.1") == [Throttled.PAIR]  # one spelling per name
        assert await throttle.blocked("ada", "10.0.0.1") is Throttled.PAIR
        assert await throttle.blocked("ada", "10.0.0.2") is None
        assert await throttle.blocked("bob", "10.0.0.1") is None
        await throttle.failed("bob", "10.0.0.1")
        assert await throttle.blocked("carl", "10.0.0.1") is Throttled.ADDRESS
        await throttle.succeeded("ada", "10.0.0.9")
        await throttle.failed("ada", "10.0.0.3")
        await throttle.failed("ada", "10.0.0.4")
        assert await throttle.blocked("ada", "10.0.0.5") is Throttled.NAME
        assert await throttle.blocked("ada", "10.0.0.9") is None  # known for ada
        await asyncio.sleep(1.1)
        for address in ("10.0.0.1", "10.0.0.5"):
            assert await throttle.blocked("ada", address) is None
    finally:
        await client.aclose()
