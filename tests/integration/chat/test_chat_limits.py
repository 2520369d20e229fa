"""B2/B7 on the chat socket: frame size, invalid and binary frames, rate limits per socket and session."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from conversation import ChannelKind
from tests.browser.live_server import LiveServer, live_server
from tests.integration.chat.conftest import chat_client, chat_settings

RATE = 3


@pytest.fixture(scope="module")
def limited_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = chat_settings(tmp_path_factory.mktemp("chat-limits"), redis_url, chat_rate_per_minute=RATE)
    with live_server(settings) as server:
        yield server


def _message(text: str = "hi") -> dict[str, str]:
    return {"type": "message", "id": str(uuid.uuid4()), "text": text}


async def test_an_oversized_frame_closes_the_socket_with_1009(chat_server: LiveServer) -> None:
    limit = chat_server.settings.chat_max_frame_bytes
    async with chat_client(chat_server) as client:
        await client.hello(None)
        frame = json.dumps(_message("x" * limit))
        assert len(frame.encode()) > limit
        await client.ws.send(frame)
        assert await client.closed_with() == 1009


async def test_a_frame_just_under_the_limit_is_still_a_frame(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.ws.send(json.dumps(_message("y" * 5000)))  # text too long for a message, frame size fine
        error = await client.next("error")
        assert error["code"] == "invalid_frame" and "text" in error["message"]
        await client.send({"type": "ping"})
        assert (await client.next("pong"))["type"] == "pong"


async def test_invalid_json_gets_an_error_frame_and_the_socket_stays_open(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.ws.send("{not json")
        error = await client.next("error")
        assert error["code"] == "invalid_json"
        await client.send({"type": "ping"})
        assert (await client.next("pong"))["type"] == "pong"


async def test_unknown_types_binary_frames_and_nesting_bombs_are_errors_then_1003(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.send({"type": "subscribe", "conversation_id": "cv_other"})
        assert (await client.next("error"))["code"] == "unknown_type"
        await client.ws.send(b"\x00\x01binary")
        assert (await client.next("error"))["code"] == "binary_frame"
        await client.ws.send("[" * 10_000)
        assert (await client.next("error"))["code"] == "invalid_json"
        assert await client.closed_with() == 1003


async def test_a_message_before_hello_is_refused(chat_server: LiveServer) -> None:
    msg = _message("sneaky")
    async with chat_client(chat_server) as client:
        await client.send(msg)
        error = await client.next("error")
        assert error["code"] == "hello_required" and error["id"] == msg["id"]
    stored = await chat_server.acall(lambda s: s.messages.find_message_by_external_id(ChannelKind.CHAT, msg["id"]))
    assert stored is None


async def test_the_rate_limit_answers_with_an_error_and_closes_1008_when_flooding_goes_on(
    limited_server: LiveServer,
) -> None:
    async with chat_client(limited_server) as client:
        await client.hello(None)
        acked: list[str] = []
        limited: list[dict[str, object]] = []
        # 2*RATE+1 messages: even if a minute boundary falls in between, one window sees RATE+1.
        for _ in range(2 * RATE + 1):
            msg = _message()
            await client.send(msg)
            while True:
                frame = await client.frame()
                if frame["type"] == "ack":
                    acked.append(frame["id"])
                    break
                if frame["type"] == "error":
                    assert frame["code"] == "rate_limited" and frame["id"] == msg["id"]
                    limited.append(frame)
                    break
            if limited:
                break
        assert limited, "no rate_limited error after 2*limit+1 messages"
        assert client.ws.close_code is None  # the first excess is answered, not punished
        for m in acked:
            assert await limited_server.acall(
                lambda s, m=m: s.messages.find_message_by_external_id(ChannelKind.CHAT, m)
            )
        # keep flooding: the server closes with a policy violation
        for _ in range(20):
            await client.send(_message())
        assert await client.closed_with() == 1008


async def test_the_rate_limit_follows_the_session_across_sockets(limited_server: LiveServer) -> None:
    """A new socket does not reset the budget: the session (the identity) is limited too."""
    async with chat_client(limited_server) as first:
        session, _ = await first.hello(None)
        token = session["token"]
    outcomes: list[str] = []
    for _ in range(2 * RATE + 1):
        async with chat_client(limited_server) as client:
            await client.hello(token)
            await client.send(_message())
            while True:
                frame = await client.frame()
                if frame["type"] in ("ack", "error"):
                    outcomes.append(frame.get("code", "ack"))
                    break
        if "rate_limited" in outcomes:
            break
    assert "rate_limited" in outcomes
