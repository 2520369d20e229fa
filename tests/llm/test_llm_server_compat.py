"""The request adapter in front of llama-cpp-python's server (devtools.llm_server.OpenAICompat): fast, no
model needed. It turns OpenAI's json_schema response format into llama-cpp-python's json_object + schema,
gives a request without max_tokens a budget, and leaves everything else as it came."""

from __future__ import annotations

import json

import httpx
from starlette.types import Receive, Scope, Send

from devtools.llm_server import OpenAICompat, adapt_chat_request

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
STRUCTURED = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "LlmAnswer", "schema": SCHEMA, "strict": True}},
}


def test_json_schema_becomes_json_object_with_the_same_schema_and_a_token_budget() -> None:
    out = json.loads(adapt_chat_request(json.dumps(STRUCTURED).encode(), max_tokens=99))
    assert out["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert out["max_tokens"] == 99
    assert out["messages"] == STRUCTURED["messages"] and out["model"] == "m"


def test_a_request_that_needs_no_change_is_passed_byte_for_byte() -> None:
    body = json.dumps({"model": "m", "messages": [], "max_tokens": 7, "response_format": {"type": "text"}}).encode()
    assert adapt_chat_request(body, max_tokens=99) is body
    assert adapt_chat_request(b"not json", max_tokens=99) == b"not json"
    assert adapt_chat_request(b"[1, 2]", max_tokens=99) == b"[1, 2]"
    kept = json.loads(adapt_chat_request(json.dumps({"messages": [], "max_tokens": 5}).encode(), max_tokens=99))
    assert kept["max_tokens"] == 5


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    length = dict(scope["headers"]).get(b"content-length", b"").decode()
    payload = json.dumps({"path": scope["path"], "length": length, "body": body.decode()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


async def test_the_middleware_rewrites_chat_completions_only_and_fixes_the_content_length() -> None:
    transport = httpx.ASGITransport(app=OpenAICompat(_echo, max_tokens=64))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        chat = (await client.post("/v1/chat/completions", json=STRUCTURED)).json()
        other = (await client.post("/v1/completions", json=STRUCTURED)).json()
    seen = json.loads(chat["body"])
    assert seen["response_format"] == {"type": "json_object", "schema": SCHEMA} and seen["max_tokens"] == 64
    assert int(chat["length"]) == len(chat["body"].encode())
    assert json.loads(other["body"]) == STRUCTURED  # any other endpoint: untouched
