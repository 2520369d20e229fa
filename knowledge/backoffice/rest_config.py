"""A REST connector's configuration, as validated by ``rest_reader``: base URL, auth, timeouts and retries,
and one request + response mapping per lookup. Secrets appear only by name."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.mapping import FieldSpec
from knowledge.backoffice.selector import Selector
from knowledge.backoffice.template import Template

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "AuthKind",
    "ClientAuth",
    "DerivedLookup",
    "HttpMethod",
    "OAuth2ClientCredentials",
    "RestConnector",
    "RestLookup",
    "RetryPolicy",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


@enum.unique
class AuthKind(enum.StrEnum):
    API_KEY = "api_key"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"


@enum.unique
class ClientAuth(enum.StrEnum):
    """How the client authenticates at the token endpoint (RFC 6749 2.3.1)."""

    BASIC = "basic"
    BODY = "body"


@enum.unique
class HttpMethod(enum.StrEnum):
    GET = "GET"
    POST = "POST"


class ApiKeyAuth(_Frozen):
    kind: Literal[AuthKind.API_KEY] = AuthKind.API_KEY
    header: str
    secret: str
    prefix: str = ""


class OAuth2ClientCredentials(_Frozen):
    kind: Literal[AuthKind.OAUTH2_CLIENT_CREDENTIALS] = AuthKind.OAUTH2_CLIENT_CREDENTIALS
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    client_auth: ClientAuth = ClientAuth.BASIC


Auth = Annotated[ApiKeyAuth | OAuth2ClientCredentials, Field(discriminator="kind")]


class RetryPolicy(_Frozen):
    """``attempts`` in all (1 = no retry). Server errors, timeouts and dropped connections wait
    ``backoff_seconds * 2**(n-1)`` (at most ``max_backoff_seconds``); 429 and 503 wait what ``Retry-After``
    says, unless that is longer than ``max_retry_after_seconds`` or the call's budget."""

    attempts: int = 3
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 2.0
    max_retry_after_seconds: float = 5.0


class RestLookup(_Frozen):
    """One lookup. ``present`` (from the answer body): when it selects nothing or null, the record does not
    exist. ``at`` (single records) or ``each`` (lists) select the record(s) in the body; the selectors of
    ``fields`` and ``owner`` start at the record (the whole body without ``at``)."""

    name: LookupName
    method: HttpMethod = HttpMethod.GET
    path: Template
    query: dict[str, Template] = {}
    headers: dict[str, Template] = {}
    body: dict[str, Template] = {}
    owner: Selector | None = None
    present: Selector | None = None
    at: Selector | None = None
    each: Selector | None = None
    fields: dict[str, FieldSpec]
    not_found: frozenset[int] = frozenset({404})


class DerivedLookup(_Frozen):
    """A lookup computed from another one of the same connector (return eligibility from the order status,
    with the same rule as the SQL back office)."""

    name: LookupName
    source: LookupName


class RestConnector(_Frozen):
    name: str
    base_url: str
    auth: Auth | None = None
    timeout_seconds: float = 2.0
    budget_seconds: float = 6.0
    retry: RetryPolicy = RetryPolicy()
    lookups: dict[LookupName, RestLookup | DerivedLookup]
