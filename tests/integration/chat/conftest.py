"""A live web app on a free port (real uvicorn, real Redis, SQLite) and a small socket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server

FRAME_TIMEOUT_S = 5.0
PUBLIC_URL = "https://shop.example.test"


def chat_settings(var_dir, redis_url: str, **overrides: Any) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(var_dir=var_dir, redis_url=redis_url, public_url=PUBLIC_URL, **overrides)


@pytest.fixture(scope="module")
def chat_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(chat_settings(tmp_path_factory.mktemp("chat"), redis_url)) as server:
        yield server


class ChatClient:
    """The test side of the socket: send frames, read the next frame (of a type), bounded in time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def frame(self, *, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)

    async def next(self, kind: str, *, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        """The next frame of type ``kind``; frames of other types before it are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout=timeout)
                if frame["type"] == kind:
                    return frame

    async def hello(
        self, token: str | None = None, *, language: str = "en-US"
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        await self.send({"type": "hello", "token": token, "language": language})
        session = await self.next("session")
        history = await self.next("history")
        return session, history

    async def closed_with(self, *, timeout: float = FRAME_TIMEOUT_S) -> int | None:
        """Read (and drop) frames until the server closes the socket; the close code it sent."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None


@contextlib.asynccontextmanager
async def chat_client(server: LiveServer) -> AsyncIterator[ChatClient]:
    async with connect(server.ws_url, open_timeout=FRAME_TIMEOUT_S, close_timeout=2, max_size=2**20) as ws:
        yield ChatClient(ws)


async def wait_until_subscribed(
    server: LiveServer, conversation_id: str, *, at_least: int = 1, timeout: float = FRAME_TIMEOUT_S
) -> None:
    """Wait until a socket listens on the conversation's live channel (RedisLiveBus: gd:live:<id>)."""
    channel = "gd:live:" + conversation_id
    deadline = time.monotonic() + timeout
    while True:
        counts = await server.acall(lambda s: s.redis.pubsub_numsub(channel))
        if counts and int(counts[0][1]) >= at_least:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no chat socket subscribed to {channel} within {timeout} s")
        await asyncio.sleep(0.02)
