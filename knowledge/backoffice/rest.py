"""The REST back office: the port over an HTTP/JSON API described by a :class:`RestConnector` config.

Per call: the request is rendered from the lookup's templates (path values percent-encoded), sent with the
connector's auth, retried on 429/5xx/timeouts/dropped connections within ``retry.attempts`` and
``budget_seconds``, and the JSON answer is mapped onto the model. Every failure is a
:class:`ConnectorUnavailable`; nothing is ever answered that the API did not say.

Scoping: a record whose ``owner`` is another customer is answered like a missing one (``None``). An answer
about a different record than the one asked for (another order number) is unreadable, not an answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr

from knowledge.backoffice.catalog import SHAPES, LookupName
from knowledge.backoffice.httpcall import CallFailure, classify, decode_json, send
from knowledge.backoffice.mapping import Unreadable, build_record
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimIntake,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderStatus,
    ReturnEligibility,
)
from knowledge.backoffice.oauth import ClientCredentialsToken
from knowledge.backoffice.records import to_return_eligibility
from knowledge.backoffice.rest_config import (
    ApiKeyAuth,
    DerivedLookup,
    OAuth2ClientCredentials,
    RestConnector,
    RestLookup,
)
from knowledge.backoffice.selector import MISSING
from knowledge.errors import ConnectorFailure, ConnectorUnavailable, LookupFailed

__all__ = ["RestBackOffice"]

M = TypeVar("M", bound=BaseModel)
_NOT_FOUND: Any = object()
_UNSAFE_SEGMENTS = ("", ".", "..")


def _path_value(value: str) -> str:
    return quote(value, safe="")


class _Unrenderable(Exception):
    """A path placeholder has no value, or a value that cannot name a record: nothing to ask for."""


class RestBackOffice:
    """Implements ``BackOffice``. ``secrets`` maps the config's secret names to their values."""

    def __init__(
        self,
        config: RestConnector,
        *,
        secrets: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = config.name
        self._config = config
        self._today = today
        self._clock = clock
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "Glassdesk-backoffice-connector/1"},
        )
        self._api_key: tuple[str, SecretStr, str] | None = None
        self._token: ClientCredentialsToken | None = None
        auth = config.auth
        if isinstance(auth, ApiKeyAuth):
            self._api_key = (auth.header, SecretStr(_secret(secrets, auth.secret, config.name)), auth.prefix)
        elif isinstance(auth, OAuth2ClientCredentials):
            self._token = ClientCredentialsToken(
                auth, SecretStr(_secret(secrets, auth.client_secret, config.name)), client=self._client, clock=clock
            )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def lookups(self) -> frozenset[LookupName]:
        return frozenset(self._config.lookups)

    # -- the exchange ---------------------------------------------------------------------------

    def _request(self, lookup: RestLookup, values: Mapping[str, str | None], *, timeout: float) -> httpx.Request:
        for name in lookup.path.variables:
            if values.get(name) is None or values[name] in _UNSAFE_SEGMENTS:
                raise _Unrenderable(name)
        path = lookup.path.render(values, encode=_path_value)
        params = {k: v for k, t in lookup.query.items() if (v := t.render(values)) is not None}
        headers = {k: v for k, t in lookup.headers.items() if (v := t.render(values)) is not None}
        body = {k: v for k, t in lookup.body.items() if (v := t.render(values)) is not None}
        return self._client.build_request(
            lookup.method.value, cast(str, path), params=params, headers=headers, json=body or None, timeout=timeout
        )

    async def _exchange(self, tool: LookupName, lookup: RestLookup, values: Mapping[str, str | None]) -> Any:
        """The decoded JSON answer, or ``_NOT_FOUND``."""
        deadline = self._clock() + self._config.budget_seconds
        attempt = 0
        renewed_token = False
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            token: str | None = None
            try:
                if remaining <= 0:
                    raise CallFailure(ConnectorFailure.TIMEOUT, f"budget of {self._config.budget_seconds:g}s used")
                timeout = min(self._config.timeout_seconds, remaining)
                request = self._request(lookup, values, timeout=timeout)
                if self._api_key is not None:
                    header, secret, prefix = self._api_key
                    request.headers[header] = prefix + secret.get_secret_value()
                try:
                    async with asyncio.timeout(timeout):  # wall time: httpx's timeouts are per read/write
                        if self._token is not None:
                            token = await self._token.token(timeout=timeout)
                            request.headers["Authorization"] = f"Bearer {token}"
                        response, body = await send(self._client, request)
                except TimeoutError:
                    raise CallFailure(ConnectorFailure.TIMEOUT, "no answer in time", retryable=True) from None
                if response.status_code in lookup.not_found:
                    return _NOT_FOUND
                failure = classify(response)
                if failure is not None:
                    raise failure
                return decode_json(body)
            except CallFailure as exc:
                if exc.stale_token and token is not None and self._token is not None and not renewed_token:
                    self._token.invalidate(token)  # revoked or expired early: fetch a new one, once
                    renewed_token = True
                    continue
                wait = self._wait(exc, attempt)
                if wait is None or self._clock() + wait >= deadline:
                    raise ConnectorUnavailable(
                        self.name, exc.failure, tool=tool, attempts=attempt, detail=exc.detail
                    ) from None
                await self._sleep(wait)

    def _wait(self, failure: CallFailure, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when there is none."""
        retry = self._config.retry
        if not failure.retryable or attempt >= retry.attempts:
            return None
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= retry.max_retry_after_seconds else None
        return min(retry.max_backoff_seconds, retry.backoff_seconds * 2.0 ** (attempt - 1))

    # -- mapping answers ------------------------------------------------------------------------

    def _lookup(self, name: LookupName) -> RestLookup | DerivedLookup:
        lookup = self._config.lookups.get(name)
        if lookup is None:
            raise LookupFailed(name, f"connector '{self.name}' has no '{name}' lookup configured", attempts=0)
        return lookup

    def _unreadable(self, tool: LookupName, exc: Unreadable | str) -> ConnectorUnavailable:
        where = exc.where if isinstance(exc, Unreadable) else exc
        return ConnectorUnavailable(self.name, ConnectorFailure.MALFORMED_RESPONSE, tool=tool, detail=where)

    def _record(self, tool: LookupName, lookup: RestLookup, node: Any) -> BaseModel:
        shape = SHAPES[tool]
        source = (shape.source, shape.source_key) if shape.source and shape.source_key else None
        try:
            return build_record(shape.model, lookup.fields, node, source=source)
        except Unreadable as exc:
            raise self._unreadable(tool, exc) from None

    def _owned(self, tool: LookupName, lookup: RestLookup, node: Any, customer_id: str | None) -> bool:
        if lookup.owner is None or customer_id is None:
            return True
        owner = lookup.owner.one(node)
        if owner is MISSING or owner is None or isinstance(owner, (dict, list)):
            raise self._unreadable(tool, "owner")
        return str(owner) == customer_id

    async def _one(self, tool: LookupName, model: type[M], values: Mapping[str, str | None]) -> M | None:
        lookup = self._lookup(tool)
        assert isinstance(lookup, RestLookup), "derived lookups are answered by their own method"
        try:
            answer = await self._exchange(tool, lookup, values)
        except _Unrenderable:
            return None
        if answer is _NOT_FOUND:
            return None
        if lookup.present is not None and lookup.present.one(answer) in (MISSING, None):
            return None
        node = answer
        if lookup.at is not None:
            node = lookup.at.one(answer)
            if not isinstance(node, dict):
                raise self._unreadable(tool, "at")
        if not self._owned(tool, lookup, node, values.get("customer_id")):
            return None
        record = self._record(tool, lookup, node)
        shape = SHAPES[tool]
        if shape.reference and shape.identifier and getattr(record, shape.identifier) != values[shape.reference]:
            raise self._unreadable(tool, f"answered about a different {shape.identifier}")
        return cast(M, record)

    async def _many(self, tool: LookupName, model: type[M], customer_id: str) -> tuple[M, ...]:
        lookup = self._lookup(tool)
        assert isinstance(lookup, RestLookup) and lookup.each is not None
        try:
            answer = await self._exchange(tool, lookup, {"customer_id": customer_id})
        except _Unrenderable:
            return ()
        if answer is _NOT_FOUND:
            return ()
        elements = lookup.each.many_values(answer)
        if elements is None:
            raise self._unreadable(tool, "each")
        return tuple(
            cast(M, self._record(tool, lookup, e)) for e in elements if self._owned(tool, lookup, e, customer_id)
        )

    # -- the port -------------------------------------------------------------------------------

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        wanted_email = email.strip().lower() if email and email.strip() else None
        wanted_phone = phone.replace(" ", "") if phone and phone.strip() else None
        if wanted_email is None and wanted_phone is None:
            return None
        lookup = self._lookup(LookupName.FIND_CUSTOMER)
        assert isinstance(lookup, RestLookup)
        values = {"email": wanted_email, "phone": wanted_phone}
        sent = {
            v
            for t in (lookup.path, *lookup.query.values(), *lookup.body.values())
            for v in t.variables
            if values.get(v) is not None
        }
        if not sent & {"email", "phone"}:
            return None  # this API cannot be asked with what we know; never search without a criterion
        customer = await self._one(LookupName.FIND_CUSTOMER, Customer, values)
        if customer is None:
            return None
        if (wanted_email and customer.email.strip().lower() == wanted_email) or (
            wanted_phone and customer.phone.replace(" ", "") == wanted_phone
        ):
            return customer
        return None  # a fuzzy match on the other side must never link the wrong customer

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        return await self._one(
            LookupName.ORDER_STATUS, OrderStatus, {"customer_id": customer_id, "order_number": order_number}
        )

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        return await self._many(LookupName.LIST_ORDERS, OrderStatus, customer_id)

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        if isinstance(self._lookup(LookupName.RETURN_ELIGIBILITY), DerivedLookup):
            status = await self.order_status(customer_id, order_number)
            return None if status is None else to_return_eligibility(status, today=self._today())
        return await self._one(
            LookupName.RETURN_ELIGIBILITY, ReturnEligibility, {"customer_id": customer_id, "order_number": order_number}
        )

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        return await self._one(
            LookupName.CONTRACT, Contract, {"customer_id": customer_id, "policy_number": policy_number}
        )

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        return await self._many(LookupName.LIST_CONTRACTS, Contract, customer_id)

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        return await self._one(
            LookupName.COVERAGE, Coverage, {"customer_id": customer_id, "policy_number": policy_number}
        )

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        return await self._one(
            LookupName.CLAIM_STATUS, ClaimStatus, {"customer_id": customer_id, "claim_number": claim_number}
        )

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        return await self._one(
            LookupName.FILE_CLAIM,
            ClaimDraft,
            {
                "customer_id": customer_id,
                "policy_number": intake.policy_number,
                "risk": intake.risk.value,
                "incident_date": intake.incident_date.isoformat(),
                "description": intake.description,
                "idempotency_key": intake.idempotency_key,
            },
        )


def _secret(secrets: Mapping[str, str], name: str, connector: str) -> str:
    value = secrets.get(name)
    if not value:
        raise ValueError(
            f"connector '{connector}' needs the secret '{name}', which was not provided: "
            "map it from Settings into the secrets passed to the connector"
        )
    return value
