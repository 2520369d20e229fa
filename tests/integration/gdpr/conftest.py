"""The data-protection harness: a whole local stack whose every store a test can scan afterwards.

- a real ``prefect server`` on 127.0.0.1 with its own PREFECT_HOME (its SQLite database is scanned),
  configured as ``runtime.supervisor`` configures it (no logs to the API);
- a private embedded Redis per test in a known folder (its AOF and RDB files are scanned);
- a copy of the demo var/ per test (SQLite, blobs, models, knowledge index, back office);
- the development SMTP sink (var/mail) and SMS sink (var/sms) on free ports; the SMTP sink can start
  late, so a first send fails and is retried;
- the app's log lines written to var/log/glassdesk.log in the format of ``configure_logging``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller

from conversation.rediskit import EmbeddedRedis
from devtools.mailsink import FolderHandler
from devtools.smssink import build_sms_sink
from runtime.compose import open_container
from services.container import Container
from services.settings import DEV_TWILIO_TOKEN, Settings
from tests.conftest import VisiblePrefect

QUIET_LOGGERS = ("twilio", "httpx", "httpcore", "aiosmtplib", "mail.log")  # services.settings.configure_logging


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PrefectServer = VisiblePrefect  # api_url, home, database (the SQLite file the scans read)


@pytest.fixture(scope="session")
def prefect_server(visible_prefect: VisiblePrefect) -> Iterator[PrefectServer]:
    """The session's real Prefect server (tests/conftest.py), configured as `glassdesk run` configures
    it: task runs recorded, logs sent (what erasure must reach). Other tests' runs are in it too; every
    scan here looks for this test's own customers and ids."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    updates = {PREFECT_API_URL: visible_prefect.api_url, PREFECT_LOGGING_TO_API_ENABLED: True}
    with temporary_settings(updates=updates):
        yield visible_prefect


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from devtools.demo import load_demo

    var = tmp_path_factory.mktemp("gdpr-demo-var")
    asyncio.run(load_demo(Settings(var_dir=var)))
    return var


class _Relay:
    """The development SMTP sink writing var/mail, started when the test says so."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(FolderHandler(self.folder), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class _Uvicorn:
    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Uvicorn:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the SMS sink did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Stack:
    services: Container
    var: Path
    redis_dir: Path
    prefect: PrefectServer
    relay: _Relay

    @property
    def settings(self) -> Settings:
        return self.services.settings


@pytest.fixture
async def stack(prefect_server: PrefectServer, demo_template: Path, tmp_path: Path) -> AsyncIterator[Stack]:
    var = tmp_path / "var"
    shutil.copytree(demo_template, var)
    redis_dir = tmp_path / "redis"
    redis = EmbeddedRedis(redis_dir)
    redis_url = redis.start()
    relay = _Relay(var / "mail", free_port())
    sms_port = free_port()
    settings = Settings(
        var_dir=var,
        redis_url=redis_url,
        relay_port=relay.port,
        relay_starttls=False,
        prefect_api_url=prefect_server.api_url,
        twilio_api_base=f"http://127.0.0.1:{sms_port}",
        twilio_auth_token=DEV_TWILIO_TOKEN,
        public_url=f"http://127.0.0.1:{free_port()}",
        turn_min_idle_ms=300,
        turn_max_deliveries=1,
        demo_mode=True,
    )
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / "glassdesk.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in quiet:  # as configure_logging does: vendor request logs name numbers and addresses
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with _Uvicorn(build_sms_sink(settings, folder=var / "sms"), sms_port):
            async with open_container(settings) as services:
                yield Stack(services=services, var=var, redis_dir=redis_dir, prefect=prefect_server, relay=relay)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)
        handler.close()
        relay.stop()
        redis.stop()
