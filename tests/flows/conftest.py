"""Flow tests: the real turn flow on Prefect's test harness (a temporary local Prefect server),
with real Redis, SQLite, the demo back office, knowledge base, intent model and default policy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from devtools.demo import load_demo
from devtools.mailsink import FolderHandler
from runtime.compose import open_container
from services.container import Container
from services.settings import Settings
from tests.conftest import VisiblePrefect


@pytest.fixture(autouse=True, scope="module")
def _prefect_services_per_module() -> Iterator[None]:
    """Prefect's event and API-log workers are process-wide and pinned to the API URL current when they
    started; the servers live for the session, so a module that talked to another one (the secured
    server) must not leave them pinned there for the next module's runs."""
    yield
    from tests.support.prefect_server import drain_prefect_services

    drain_prefect_services()


@pytest.fixture(scope="session")
def prefect_harness(visible_prefect: VisiblePrefect) -> Iterator[str]:
    """A real `prefect server start` on 127.0.0.1, configured as `make run` configures it, shared by the
    session (tests/conftest.py). (Prefect's ephemeral test harness hits "database is locked" on SQLite
    on this machine.)"""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: visible_prefect.api_url}):
        yield visible_prefect.api_url


@pytest.fixture(scope="session")
def secured_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A real `prefect server start` asking for a login, with the environment of ``runtime.supervisor``
    (its generated login is in the settings' var dir). One for the session: its tests only read it and
    add runs of their own."""
    from runtime.supervisor import prefect_env
    from tests.support.prefect_server import free_port, prefect_server

    port = free_port()
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("secured-var"),
        prefect_api_url=f"http://127.0.0.1:{port}/api",
        prefect_port=port,
    )
    with prefect_server(port, prefect_env(settings)):
        yield settings


@pytest.fixture(scope="session")
def demo_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    var = tmp_path_factory.mktemp("var")
    asyncio.run(load_demo(Settings(var_dir=var)))
    return var


@pytest.fixture
def mail_relay(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    import socket

    folder = tmp_path / "mail"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(FolderHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, folder
    finally:
        controller.stop()


@pytest.fixture
async def services(prefect_harness, demo_var: Path, redis_url: str, mail_relay) -> AsyncIterator[Container]:  # type: ignore[no-untyped-def]
    port, _folder = mail_relay
    settings = Settings(
        var_dir=demo_var,
        redis_url=redis_url,
        relay_port=port,
        relay_starttls=False,
        prefect_api_url=prefect_harness,
        business_hours="mon-sun 00:00-24:00",  # the in-hours notice must not depend on the clock
    )
    async with open_container(settings) as s:
        await s.redis.flushdb()
        yield s
