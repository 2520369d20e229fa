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


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on 127.0.0.1, configured as `make run` configures it.
    (Prefect's ephemeral test harness hits "database is locked" on SQLite on this machine.)"""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = tmp_path_factory.mktemp("prefect")
    from runtime.supervisor import PREFECT_VISIBILITY_ENV

    env = {**os.environ, "PREFECT_HOME": str(home), **PREFECT_VISIBILITY_ENV}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--analytics-off",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "prefect server exited during start"
            assert time.monotonic() < deadline, "prefect server did not answer within 120 s"
            time.sleep(0.5)
        from tests.support.prefect_server import drain_prefect_services

        drain_prefect_services()  # event and log workers started for another server must not be reused
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        from tests.support.prefect_server import drain_prefect_services

        drain_prefect_services()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


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
