"""One live app per module (real uvicorn, real Redis, SQLite) with one staff account per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.support.staff import STAFF, create_staff


@pytest.fixture(scope="module")
def staff_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("staff"), redis_url=redis_url, public_url="https://shop.example.test"
    )
    with live_server(settings) as server:
        for username, role in STAFF:
            create_staff(server, username, role)
        yield server


@pytest.fixture(autouse=True)
def fresh_login_limits(redis_url: str) -> Iterator[None]:
    """Every test logs in from 127.0.0.1 against one shared Redis: start each with clean login counters."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match="gd:rl:login:*"):
            client.delete(key)
        yield
    finally:
        client.close()
