"""Staff API bodies are capped while they stream in: a chunked body without Content-Length cannot
make the server buffer more than the cap."""

from __future__ import annotations

from collections.abc import Iterator

from tests.browser.live_server import LiveServer
from tests.support.staff import login

CID = "conv_00000000000000000000000000"


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"text": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_oversized_chunked_bodies_get_413(staff_server: LiveServer) -> None:
    client, csrf = login(staff_server, "admin1")
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    note = client.post(f"/api/conversations/{CID}/notes", content=_chunks(2 * 1024 * 1024), headers=headers)
    assert note.status_code == 413 and "limited to" in note.json()["detail"]
    policy = client.post("/api/policies/validate", content=_chunks(8 * 1024 * 1024), headers=headers)
    assert policy.status_code == 413 and "limited to" in policy.json()["detail"]
    small = client.post(f"/api/conversations/{CID}/notes", json={"text": "hello"}, headers={"X-CSRF-Token": csrf})
    assert small.status_code == 404  # a normal body passes the cap (the conversation does not exist)
