"""OAuth2 client credentials (RFC 6749 4.4): one cached access token per connector, fetched by one caller
at a time, renewed shortly before it expires and dropped when the API answers 401."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from urllib.parse import quote_plus

import httpx
from pydantic import SecretStr

from knowledge.backoffice.httpcall import CallFailure, classify, decode_json, send
from knowledge.backoffice.rest_config import ClientAuth, OAuth2ClientCredentials
from knowledge.errors import ConnectorFailure

__all__ = ["DEFAULT_LIFETIME_SECONDS", "ClientCredentialsToken"]

DEFAULT_LIFETIME_SECONDS = 60.0  # when the token answer has no expires_in
_MAX_SKEW_SECONDS = 30.0


class ClientCredentialsToken:
    def __init__(
        self,
        config: OAuth2ClientCredentials,
        secret: SecretStr,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._secret = secret
        self._client = client
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def _cached(self) -> str | None:
        return self._token if self._token is not None and self._clock() < self._renew_at else None

    async def token(self, *, timeout: float) -> str:
        cached = self._cached()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._cached()  # another caller fetched it while we waited
            if cached is not None:
                return cached
            return await self._fetch(timeout=timeout)

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _fetch(self, *, timeout: float) -> str:
        form = {"grant_type": "client_credentials"}
        if self._config.scope:
            form["scope"] = self._config.scope
        headers = {"Accept": "application/json"}
        if self._config.client_auth is ClientAuth.BASIC:
            # RFC 6749 2.3.1: both parts form-urlencoded, then HTTP Basic
            pair = f"{quote_plus(self._config.client_id)}:{quote_plus(self._secret.get_secret_value())}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": self._config.client_id, "client_secret": self._secret.get_secret_value()}
        request = self._client.build_request(
            "POST", self._config.token_url, data=form, timeout=timeout, headers=headers
        )
        response, body = await send(self._client, request)
        failure = classify(response)
        if failure is not None:
            if failure.failure in (ConnectorFailure.REJECTED, ConnectorFailure.AUTH_FAILED):
                raise CallFailure(ConnectorFailure.AUTH_FAILED, f"token endpoint {failure.detail}")
            raise CallFailure(
                failure.failure,
                f"token endpoint {failure.detail}",
                retryable=failure.retryable,
                retry_after=failure.retry_after,
            )
        answer = decode_json(body)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        token_type = str(answer.get("token_type", "bearer")) if isinstance(answer, dict) else ""
        if not isinstance(token, str) or not token or token_type.lower() != "bearer":
            raise CallFailure(ConnectorFailure.MALFORMED_RESPONSE, "token endpoint gave no bearer access_token")
        lifetime = answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = float(lifetime)
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_SECONDS
        self._token = token
        self._renew_at = self._clock() + float(lifetime) - min(_MAX_SKEW_SECONDS, float(lifetime) * 0.1)
        return token
