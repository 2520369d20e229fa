"""The Prefect server Glassdesk starts asks for the login on its websocket paths too, not only on HTTP
(PrefectHQ/prefect #17687: the events websockets once bypassed the auth string). A real
`prefect server start` with the environment of ``runtime.supervisor``; a real websocket client."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from services.settings import Settings

PATHS = ("/events/out", "/events/in")


def _ws(settings: Settings, path: str) -> str:
    return settings.prefect_api_url.replace("http://", "ws://", 1) + path


async def _handshake(settings: Settings, path: str, token: str | None) -> str:
    """What the server answers to the `prefect` subprotocol's auth message with ``token``."""
    async with connect(_ws(settings, path), subprotocols=["prefect"], open_timeout=10) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "token": token}))
        try:
            return json.loads(await ws.recv())["type"]
        except ConnectionClosed as closed:
            return f"closed:{closed.rcvd.code if closed.rcvd else None}"


@pytest.mark.parametrize("path", PATHS)
async def test_the_events_websockets_need_the_login(secured_prefect: Settings, path: str) -> None:
    # no subprotocol (the legacy, unauthenticated handshake): refused
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(_ws(secured_prefect, path), open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "filter", "filter": {}}))
            await ws.recv()
    assert (await _handshake(secured_prefect, path, None)).startswith("closed:")
    assert (await _handshake(secured_prefect, path, "glassdesk:not-the-password")).startswith("closed:")
    assert await _handshake(secured_prefect, path, secured_prefect.prefect_auth_string()) == "auth_success"
