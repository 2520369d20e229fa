"""A local OpenAI-compatible endpoint over real HTTP (uvicorn on 127.0.0.1, random free port)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request


@dataclass
class FakeOpenAI:
    """What the endpoint answers (``reply``) and every raw request body it received."""

    base_url: str
    reply: dict[str, Any] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.bodies]


def _app(state: FakeOpenAI) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> dict[str, Any]:
        raw = await request.body()
        state.bodies.append(raw)
        body = json.loads(raw)
        arguments = json.dumps(state.reply, ensure_ascii=False)
        if body.get("tools"):  # method="function_calling": answer with a tool call
            name = body["tools"][0]["function"]["name"]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
                ],
            }
            finish = "tool_calls"
        else:  # method="json_schema"/"json_mode" (response_format) or plain: JSON in the content
            message = {"role": "assistant", "content": arguments}
            finish = "stop"
        return {
            "id": f"chatcmpl-{len(state.bodies)}",
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": body.get("model", "local"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    return app


@pytest.fixture(scope="module")
def openai_endpoint() -> Iterator[FakeOpenAI]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = FakeOpenAI(base_url=f"http://127.0.0.1:{port}/v1")
    server = uvicorn.Server(uvicorn.Config(_app(state), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("local OpenAI-compatible endpoint did not start")
        time.sleep(0.01)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@pytest.fixture
def endpoint(openai_endpoint: FakeOpenAI) -> FakeOpenAI:
    openai_endpoint.bodies.clear()
    openai_endpoint.reply = {}
    return openai_endpoint
