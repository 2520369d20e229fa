"""One HTTP exchange with a back office, classified: what failed, whether a retry may help, how long the
server asked us to wait. Shared by the REST adapter and its OAuth2 token source."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from typing import Any

import httpx

from knowledge.errors import ConnectorFailure

__all__ = ["MAX_BODY_BYTES", "CallFailure", "classify", "decode_json", "retry_after_seconds", "send"]

MAX_BODY_BYTES = 4 * 1024 * 1024


class CallFailure(Exception):
    """An attempt failed. ``detail`` holds only safe parts (an HTTP status), never a URL or a body."""

    def __init__(
        self,
        failure: ConnectorFailure,
        detail: str = "",
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        stale_token: bool = False,
    ) -> None:
        self.failure = failure
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        self.stale_token = stale_token
        super().__init__(f"{failure}: {detail}")


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


async def send(client: httpx.AsyncClient, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    """Send ``request`` and read at most ``MAX_BODY_BYTES`` of the answer; transport errors become CallFailure."""
    try:
        response = await client.send(request, stream=True)
    except httpx.TimeoutException:
        raise CallFailure(ConnectorFailure.TIMEOUT, "no answer in time", retryable=True) from None
    except httpx.TransportError as exc:
        raise CallFailure(ConnectorFailure.DOWN, type(exc).__name__, retryable=True) from None
    try:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise CallFailure(ConnectorFailure.MALFORMED_RESPONSE, f"answer larger than {MAX_BODY_BYTES} bytes")
    except httpx.TimeoutException:
        raise CallFailure(ConnectorFailure.TIMEOUT, "answer not complete in time", retryable=True) from None
    except httpx.TransportError as exc:
        raise CallFailure(ConnectorFailure.DOWN, type(exc).__name__, retryable=True) from None
    finally:
        await response.aclose()
    return response, bytes(body)


def classify(response: httpx.Response) -> CallFailure | None:
    """The failure an error status means (None for 2xx)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    detail = f"HTTP {status}"
    wait = retry_after_seconds(response.headers.get("retry-after"))
    if status == 429:
        return CallFailure(ConnectorFailure.RATE_LIMITED, detail, retryable=True, retry_after=wait)
    if status >= 500:
        return CallFailure(
            ConnectorFailure.SERVER_ERROR, detail, retryable=True, retry_after=wait if status == 503 else None
        )
    if status == 401:
        return CallFailure(ConnectorFailure.AUTH_FAILED, detail, stale_token=True)
    if status == 403:
        return CallFailure(ConnectorFailure.AUTH_FAILED, detail)
    return CallFailure(ConnectorFailure.REJECTED, detail)


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise CallFailure(ConnectorFailure.MALFORMED_RESPONSE, "the answer is not JSON") from None
