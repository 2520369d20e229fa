"""A local Twilio-compatible REST endpoint on 127.0.0.1 (uvicorn in a background thread).

Implements what Glassdesk uses of the 2010-04-01 Messages API:
- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (basic auth = account SID + auth token;
  form ``To``, ``From``, ``Body``, ``StatusCallback``) -> 201 and a Message resource
  (``sid`` = "SM" + 32 hex, ``status`` "queued", ``num_segments``);
- ``GET  .../Messages/{Sid}.json`` and ``GET .../Messages.json?To=`` (lookups for reconciliation).

Every request is recorded (:attr:`LocalTwilioApi.requests`); created messages are in
:attr:`LocalTwilioApi.messages`. Failure injection: :meth:`fail_next` (429 / 500 / 400 with Twilio's
error JSON ``{code, message, more_info, status}``), :meth:`delay_next` (answer late, for timeouts).

Usage::

    with LocalTwilioApi() as api:                       # or start()/stop()
        sender = TwilioSmsSender(SmsSenderConfig(..., api_base=api.base_url))
        api.fail_next(429, code=20429, times=2)
    signature = twilio_signature(token, url, params)    # sign webhooks for our own app
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from channels.sms.segments import sms_segments

__all__ = ["LocalTwilioApi", "RecordedRequest", "twilio_signature", "free_port", "DEFAULT_SID", "DEFAULT_TOKEN"]

DEFAULT_SID = "AC" + "0" * 32
DEFAULT_TOKEN = "test-auth-token"

ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> str:
    """X-Twilio-Signature for ``url`` + form ``params`` (pass ``{}`` for JSON webhooks)."""
    if not isinstance(params, Mapping):
        merged: dict[str, list[str]] = {}
        for k, v in params:
            merged.setdefault(k, []).append(v)

        class _M(dict):  # type: ignore[type-arg]
            def getall(self, name: str) -> list[str]:
                return self[name]

        params = _M(merged)
    return RequestValidator(auth_token).compute_signature(url, params)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    auth_ok: bool
    status: int  # what we answered


@dataclass
class _Injection:
    status: int
    code: int
    message: str
    times: int


@dataclass
class _State:
    account_sid: str
    auth_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    failures: list[_Injection] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


def _auth_ok(request: Request, state: _State) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return secrets.compare_digest(user, state.account_sid) and secrets.compare_digest(password, state.auth_token)


def _build_app(state: _State) -> Starlette:
    async def record(request: Request, form: dict[str, str], auth_ok: bool, status: int) -> None:
        with state.lock:
            state.requests.append(
                RecordedRequest(request.method, request.url.path, dict(request.query_params), form, auth_ok, status)
            )

    async def create(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        auth_ok = _auth_ok(request, state) and request.path_params["account"] == state.account_sid
        with state.lock:
            delay = state.delays.pop(0) if state.delays else 0.0
            injected = state.failures[0] if state.failures else None
            if injected is not None:
                injected.times -= 1
                if injected.times <= 0:
                    state.failures.pop(0)
        if delay:
            await asyncio.sleep(delay)
        if not auth_ok:
            resp = _error(401, *ERRORS[401])
        elif injected is not None:
            resp = _error(injected.status, injected.code, injected.message)
        elif not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            resp = _error(400, 21604 if not form.get("To") else 21602, "A 'To' and a 'Body' are required")
        else:
            resp = JSONResponse(_message_resource(state, form), status_code=201)
        await record(request, form, auth_ok, resp.status_code)
        return resp

    async def fetch(request: Request) -> JSONResponse:
        auth_ok = _auth_ok(request, state)
        with state.lock:
            found = next((m for m in state.messages if m["sid"] == request.path_params["sid"]), None)
        resp = (
            _error(401, *ERRORS[401]) if not auth_ok else (JSONResponse(found) if found else _error(404, *ERRORS[404]))
        )
        await record(request, {}, auth_ok, resp.status_code)
        return resp

    async def listing(request: Request) -> JSONResponse:
        auth_ok = _auth_ok(request, state)
        to = request.query_params.get("To")
        with state.lock:
            found = [m for m in reversed(state.messages) if to is None or m["to"] == to]
        resp = (
            _error(401, *ERRORS[401])
            if not auth_ok
            else JSONResponse(
                {"messages": found, "page": 0, "page_size": 50, "next_page_uri": None, "uri": request.url.path}
            )
        )
        await record(request, {}, auth_ok, resp.status_code)
        return resp

    base = "/2010-04-01/Accounts/{account}/Messages"
    return Starlette(
        routes=[
            Route(base + ".json", create, methods=["POST"]),
            Route(base + ".json", listing, methods=["GET"]),
            Route(base + "/{sid}.json", fetch, methods=["GET"]),
        ]
    )


def _message_resource(state: _State, form: dict[str, str]) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    now = format_datetime(datetime.now(UTC), usegmt=True)
    body = form.get("Body", "")
    msg = {
        "account_sid": state.account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": str(sms_segments(body).segments),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{state.account_sid}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{state.account_sid}/Messages/{sid}.json",
        "status_callback": form.get("StatusCallback"),  # not in Twilio's resource; handy for tests
    }
    with state.lock:
        state.messages.append(msg)
    return msg


class LocalTwilioApi:
    """Start/stop a local Twilio REST endpoint. Thread-safe recording; usable as a context manager."""

    def __init__(self, account_sid: str = DEFAULT_SID, auth_token: str = DEFAULT_TOKEN, *, port: int = 0) -> None:
        self._state = _State(account_sid, auth_token)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> LocalTwilioApi:
        config = uvicorn.Config(
            _build_app(self._state), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="local-twilio-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"local Twilio API did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LocalTwilioApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Messages the endpoint accepted (201), oldest first."""
        with self._state.lock:
            return list(self._state.messages)

    def reset(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.messages.clear()
            self._state.failures.clear()
            self._state.delays.clear()

    # -- failure injection
    def fail_next(self, status: int, *, code: int | None = None, message: str | None = None, times: int = 1) -> None:
        """The next ``times`` create requests answer ``status`` with Twilio's error JSON."""
        default_code, default_message = ERRORS.get(status, (20000 + status, "Injected failure"))
        with self._state.lock:
            self._state.failures.append(_Injection(status, code or default_code, message or default_message, times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` create requests answer only after ``seconds`` (the message is still created)."""
        with self._state.lock:
            self._state.delays.extend([seconds] * times)
