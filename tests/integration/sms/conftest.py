"""The real web app under uvicorn on 127.0.0.1 (a thread), a local Twilio REST endpoint, signing helpers.

The test's own event loop opens a second set of services on the same SQLite file and Redis to set up
and check outcomes; the app serves requests from its own loop, as in production.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis
import uvicorn
from sqlalchemy import func, select

from conversation.sql import schema as t
from runtime.compose import open_container
from services.container import Container
from services.settings import Settings
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port, twilio_signature
from web import create_app

PAYLOADS = json.loads(Path("/work/shared/data/twilio/inbound_sms_payloads.json").read_text())
EXAMPLE_FORM: dict[str, str] = PAYLOADS["payloads"][0]["form"]
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TURN_STREAM = "gd:turns"


class AppServer:
    """create_app(settings) served by uvicorn in a background thread."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self._server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, name="glassdesk-web", daemon=True)

    def __enter__(self) -> AppServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def make_settings(tmp_path: Path, redis_url: str, port: int, **extra: Any) -> Settings:
    return Settings(
        var_dir=tmp_path,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        twilio_account_sid=DEFAULT_SID,
        twilio_auth_token=DEFAULT_TOKEN,
        **extra,
    )


@dataclass
class Harness:
    """Posts signed webhooks to the running app and reads outcomes from SQL and Redis."""

    settings: Settings
    http: httpx.AsyncClient
    services: Container
    redis_sync: redis.Redis

    @property
    def public_url(self) -> str:
        return self.settings.public_url

    def url(self, path: str, query: str = "") -> str:
        return self.public_url + path + (f"?{query}" if query else "")

    async def post_form(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        query: str = "",
        signed_url: str | None = None,
        signed_params: Mapping[str, str] | None = None,
        token: str = DEFAULT_TOKEN,
        signature: str | None = "compute",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if signature == "compute":
            signature = twilio_signature(token, signed_url or self.url(path, query), signed_params or params)
        if signature is not None:
            hdrs["X-Twilio-Signature"] = signature
        return await self.http.post(self.url(path, query), content=urlencode(params).encode(), headers=hdrs)

    async def post_json(self, path: str, body: bytes, *, hash_of: bytes | None = None) -> httpx.Response:
        query = "bodySHA256=" + hashlib.sha256(body if hash_of is None else hash_of).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Signature": twilio_signature(DEFAULT_TOKEN, self.url(path, query), {}),
        }
        return await self.http.post(self.url(path, query), content=body, headers=headers)

    async def message_count(self) -> int:
        async with self.services.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(t.messages))).scalar_one())

    def stream_len(self) -> int:
        return int(self.redis_sync.xlen(TURN_STREAM))


@pytest.fixture
def twilio_api() -> Iterator[LocalTwilioApi]:
    with LocalTwilioApi() as api:
        yield api


@pytest.fixture
async def harness(tmp_path: Path, redis_url: str) -> AsyncIterator[Harness]:
    sync = redis.Redis.from_url(redis_url)
    sync.flushdb()
    port = free_port()
    settings = make_settings(tmp_path, redis_url, port)
    with AppServer(settings, port):
        async with open_container(settings, migrate=False) as services, httpx.AsyncClient(timeout=30) as http:
            yield Harness(settings, http, services, sync)
    sync.flushdb()
    sync.close()
