"""Reading one REST connector from its YAML nodes into a :class:`RestConnector`, checking every lookup
against the port: placeholders, customer scoping, selectors and the answer model's fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.catalog import SHAPES, LookupName, LookupShape
from knowledge.backoffice.field_reader import FieldReader
from knowledge.backoffice.mapping import FieldSpec
from knowledge.backoffice.rest_config import (
    ApiKeyAuth,
    Auth,
    AuthKind,
    ClientAuth,
    DerivedLookup,
    HttpMethod,
    OAuth2ClientCredentials,
    RestConnector,
    RestLookup,
    RetryPolicy,
)
from knowledge.backoffice.template import Template, TemplateSyntaxError, parse_template
from knowledge.backoffice.yamlnodes import NodeReader, Pairs, join, suggest

__all__ = ["REST_FIELDS", "RestReader", "SecretRef", "check_base_url", "read_secret_name"]

REST_FIELDS = ("base_url", "auth", "timeout_seconds", "budget_seconds", "retry", "lookups")
_LOOKUP_FIELDS = (
    "method",
    "path",
    "query",
    "headers",
    "body",
    "present",
    "at",
    "each",
    "owner",
    "fields",
    "fields_from",
    "not_found",
    "derive",
)
_AUTH_FIELDS = {
    AuthKind.API_KEY: ("kind", "header", "secret", "prefix"),
    AuthKind.OAUTH2_CLIENT_CREDENTIALS: ("kind", "token_url", "client_id", "client_secret", "scope", "client_auth"),
}
_AUTH_REQUIRED = {
    AuthKind.API_KEY: ("header", "secret"),
    AuthKind.OAUTH2_CLIENT_CREDENTIALS: ("token_url", "client_id", "client_secret"),
}
_RETRY_FIELDS = ("attempts", "backoff_seconds", "max_backoff_seconds", "max_retry_after_seconds")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


class SecretRef(BaseModel):
    """A secret a config names: checked against the caller's secrets when the document is loaded."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    line: int
    column: int
    path: str


def read_secret_name(reader: NodeReader, node: yaml.Node, path: str, refs: list[SecretRef]) -> str | None:
    name = reader.text(node, path, what="a secret name", max_len=100)
    if name is None:
        return None
    if not _SECRET_NAME.fullmatch(name):
        reader.problem(
            node,
            path,
            f"'{name}' is not a secret name",
            "name the secret (letters, digits, '_', '.', '-'); never write the secret itself here",
        )
        return None
    refs.append(
        SecretRef(
            name=name, source=reader.source, line=node.start_mark.line + 1, column=node.start_mark.column + 1, path=path
        )
    )
    return name


def check_base_url(reader: NodeReader, node: yaml.Node, path: str) -> str | None:
    text = reader.text(node, path, what="'base_url'", max_len=500)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        reader.problem(node, path, f"'{text}' is not an http(s) URL", "write e.g. https://shop.example.com/api/v2")
        return None
    if parts.username or parts.password:
        reader.problem(node, path, "the URL holds credentials", "remove them and use 'auth:' with a secret name")
        return None
    if parts.query or parts.fragment:
        reader.problem(node, path, "the base URL has a query or fragment", "keep only scheme, host and path")
        return None
    return text.rstrip("/")


class RestReader:
    def __init__(self, reader: NodeReader, secrets: list[SecretRef]) -> None:
        self.r = reader
        self.secrets = secrets
        self._borrowed: dict[LookupName, tuple[yaml.Node, str]] = {}
        self.maps = FieldReader(reader)

    def connector(self, name: str, node: yaml.Node, pairs: Pairs, path: str) -> RestConnector | None:
        base_url = check_base_url(self.r, pairs["base_url"][1], join(path, "base_url")) if "base_url" in pairs else None
        auth = self._auth(pairs["auth"][1], join(path, "auth")) if "auth" in pairs else None
        timeout, budget = 2.0, 6.0
        if "timeout_seconds" in pairs:
            timeout = (
                self.r.number(
                    pairs["timeout_seconds"][1],
                    join(path, "timeout_seconds"),
                    what="'timeout_seconds'",
                    minimum=0.05,
                    maximum=120,
                )
                or timeout
            )
        if "budget_seconds" in pairs:
            node_b = pairs["budget_seconds"][1]
            budget = (
                self.r.number(node_b, join(path, "budget_seconds"), what="'budget_seconds'", minimum=0.05, maximum=600)
                or budget
            )
            if budget < timeout:
                self.r.problem(
                    node_b,
                    join(path, "budget_seconds"),
                    f"'budget_seconds' ({budget:g}) is shorter than 'timeout_seconds' ({timeout:g})",
                    "the budget covers every attempt and wait: make it at least the timeout",
                )
        retry = self._retry(pairs["retry"][1], join(path, "retry")) if "retry" in pairs else RetryPolicy()
        lookups = self._lookups(pairs["lookups"][1], join(path, "lookups")) if "lookups" in pairs else None
        if base_url is None or lookups is None:
            return None
        return RestConnector(
            name=name,
            base_url=base_url,
            auth=auth,
            timeout_seconds=timeout,
            budget_seconds=budget,
            retry=retry,
            lookups=lookups,
        )

    # -- connector settings ---------------------------------------------------------------------

    def _auth(self, node: yaml.Node, path: str) -> Auth | None:
        raw = self.r.pairs(node, path, what="'auth'", fix="write 'kind: api_key' or 'kind: oauth2_client_credentials'")
        if raw is None:
            return None
        if "kind" not in raw:
            self.r.problem(
                node,
                join(path, "kind"),
                "'auth' has no 'kind'",
                "add 'kind: api_key' or 'kind: oauth2_client_credentials'",
            )
            return None
        kind_text = self.r.text(raw["kind"][1], join(path, "kind"), what="'kind'")
        if kind_text not in set(AuthKind):
            self.r.problem(
                raw["kind"][1],
                join(path, "kind"),
                f"unknown auth kind '{kind_text}'",
                f"{suggest(str(kind_text), list(AuthKind))}use one of: {', '.join(AuthKind)}",
            )
            return None
        kind = AuthKind(kind_text)
        pairs = self.r.fields(
            node, path, allowed=_AUTH_FIELDS[kind], required=_AUTH_REQUIRED[kind], what=f"'auth' ({kind})"
        )
        if pairs is None or any(k not in pairs for k in _AUTH_REQUIRED[kind]):
            return None

        def text(key: str) -> str | None:
            return self.r.text(pairs[key][1], join(path, key), what=f"'{key}'", max_len=500)

        if kind is AuthKind.API_KEY:
            header = text("header")
            if header is not None and not _HEADER_NAME.fullmatch(header):
                self.r.problem(
                    pairs["header"][1], join(path, "header"), f"'{header}' is not a header name", "write e.g. X-Api-Key"
                )
                header = None
            secret = read_secret_name(self.r, pairs["secret"][1], join(path, "secret"), self.secrets)
            prefix = str(pairs["prefix"][1].value) if "prefix" in pairs else ""
            if header is None or secret is None:
                return None
            return ApiKeyAuth(header=header, secret=secret, prefix=prefix)
        token_url = check_base_url(self.r, pairs["token_url"][1], join(path, "token_url"))
        client_id = text("client_id")
        secret = read_secret_name(self.r, pairs["client_secret"][1], join(path, "client_secret"), self.secrets)
        scope = text("scope") if "scope" in pairs else None
        client_auth = ClientAuth.BASIC
        if "client_auth" in pairs:
            value = text("client_auth")
            if value not in set(ClientAuth):
                self.r.problem(
                    pairs["client_auth"][1],
                    join(path, "client_auth"),
                    f"unknown client_auth '{value}'",
                    "use basic (HTTP Basic) or body (form fields)",
                )
            else:
                client_auth = ClientAuth(value)
        if token_url is None or client_id is None or secret is None:
            return None
        return OAuth2ClientCredentials(
            token_url=token_url, client_id=client_id, client_secret=secret, scope=scope, client_auth=client_auth
        )

    def _retry(self, node: yaml.Node, path: str) -> RetryPolicy:
        pairs = self.r.fields(node, path, allowed=_RETRY_FIELDS, what="'retry'") or {}
        values: dict[str, float | int] = {}
        if "attempts" in pairs:
            attempts = self.r.integer(
                pairs["attempts"][1], join(path, "attempts"), what="'attempts'", minimum=1, maximum=10
            )
            if attempts is not None:
                values["attempts"] = attempts
        limits = {"backoff_seconds": 30.0, "max_backoff_seconds": 60.0, "max_retry_after_seconds": 300.0}
        for key, maximum in limits.items():
            if key in pairs:
                number = self.r.number(pairs[key][1], join(path, key), what=f"'{key}'", minimum=0, maximum=maximum)
                if number is not None:
                    values[key] = number
        return RetryPolicy.model_validate(values)

    # -- lookups --------------------------------------------------------------------------------

    def _lookups(self, node: yaml.Node, path: str) -> dict[LookupName, RestLookup | DerivedLookup] | None:
        pairs = self.r.pairs(node, path, what="'lookups'", fix="write one 'order_status:' (etc.) entry per lookup")
        if pairs is None:
            return None
        self._borrowed = {}
        out: dict[LookupName, RestLookup | DerivedLookup] = {}
        for name, (key, value) in pairs.items():
            if name not in set(LookupName):
                self.r.problem(
                    key,
                    join(path, name),
                    f"unknown lookup '{name}'",
                    f"{suggest(name, list(LookupName))}lookups are: {', '.join(LookupName)}",
                )
                continue
            lookup = self._lookup(LookupName(name), value, join(path, name))
            if lookup is not None:
                out[lookup.name] = lookup
        for name, lookup in list(out.items()):
            if isinstance(lookup, RestLookup) and name in self._borrowed:
                out[name] = self._borrow(lookup, out, *self._borrowed[name])
        for name, lookup in out.items():
            if isinstance(lookup, DerivedLookup) and lookup.source not in out:
                self.r.problem(
                    pairs[name][1],
                    join(path, name),
                    f"'{name}' is derived from '{lookup.source}', which this connector does not declare",
                    f"declare '{lookup.source}' here too",
                )
        return out if out else None

    def _borrow(
        self, lookup: RestLookup, lookups: Mapping[LookupName, RestLookup | DerivedLookup], node: yaml.Node, path: str
    ) -> RestLookup:
        source = self.r.text(node, path, what="'fields_from'")
        other = lookups.get(LookupName(source)) if source in set(LookupName) else None
        if (
            not isinstance(other, RestLookup)
            or SHAPES[other.name].model is not SHAPES[lookup.name].model
            or not other.fields
        ):
            model = SHAPES[lookup.name].model.__name__
            self.r.problem(
                node,
                path,
                f"'fields_from: {source}' names no lookup of this connector that maps {model} with its own 'fields'",
                f"name a lookup answering with {model}, or write 'fields:'",
            )
            return lookup
        return lookup.model_copy(update={"fields": other.fields})

    def _lookup(self, name: LookupName, node: yaml.Node, path: str) -> RestLookup | DerivedLookup | None:
        pairs = self.r.fields(node, path, allowed=_LOOKUP_FIELDS, what=f"lookup '{name}'")
        if pairs is None:
            return None
        if "derive" in pairs:
            return self._derived(name, pairs, path)
        shape = SHAPES[name]
        if "path" not in pairs:
            self.r.problem(
                node, join(path, "path"), f"lookup '{name}' has no 'path'", "add 'path: /orders/{order_number}'"
            )
        if ("fields" in pairs) == ("fields_from" in pairs):
            self.r.problem(
                node,
                join(path, "fields"),
                f"lookup '{name}' needs exactly one of 'fields' and 'fields_from'",
                f"add 'fields:' mapping the answer onto {shape.model.__name__}, or "
                "'fields_from: <lookup>' to reuse another lookup's mapping",
            )
        method = self._method(pairs, path)
        templates: list[Template] = []
        target = self._path(pairs["path"][1], join(path, "path"), shape) if "path" in pairs else None
        if target is not None:
            templates.append(target)
        query = self._templates(pairs, "query", path, shape, templates)
        headers = self._templates(pairs, "headers", path, shape, templates)
        body = self._templates(pairs, "body", path, shape, templates)
        if body and method is not HttpMethod.POST:
            self.r.problem(
                pairs["body"][0],
                join(path, "body"),
                "'body' needs 'method: POST'",
                "add 'method: POST' or remove 'body'",
            )
        each = self.maps.selector(pairs["each"][1], join(path, "each"), single=False) if "each" in pairs else None
        if shape.many and "each" not in pairs:
            self.r.problem(
                node,
                join(path, "each"),
                f"'{name}' answers with a list but has no 'each'",
                "add 'each: $.orders[*]' (the elements of the list)",
            )
        if not shape.many and "each" in pairs:
            self.r.problem(
                pairs["each"][0],
                join(path, "each"),
                f"'{name}' answers with one record",
                "remove 'each'; selectors in 'fields' start at the answer",
            )
        at = self.maps.selector(pairs["at"][1], join(path, "at"), single=True) if "at" in pairs else None
        if shape.many and "at" in pairs:
            self.r.problem(
                pairs["at"][0], join(path, "at"), f"'{name}' answers with a list", "use 'each' to select the records"
            )
        owner = self.maps.selector(pairs["owner"][1], join(path, "owner"), single=True) if "owner" in pairs else None
        present = None
        if "present" in pairs:
            present = self.maps.selector(pairs["present"][1], join(path, "present"), single=True)
            if shape.many:
                self.r.problem(
                    pairs["present"][0],
                    join(path, "present"),
                    "'present' is for single records",
                    "remove it; an empty list is a valid answer",
                )
        fields: dict[str, FieldSpec] | None = None
        if "fields" in pairs:
            fields = self.maps.fields(pairs["fields"][1], join(path, "fields"), shape.model)
        elif "fields_from" in pairs:
            fields = {}  # filled in from the named lookup once every lookup is read
            self._borrowed[name] = (pairs["fields_from"][1], join(path, "fields_from"))
        not_found = (
            self._not_found(pairs["not_found"][1], join(path, "not_found"))
            if "not_found" in pairs
            else frozenset({404})
        )
        used = {v for t in templates for v in t.variables}
        if shape.scoped and owner is None and "customer_id" not in used:
            self.r.problem(
                node,
                path,
                f"lookup '{name}' is not scoped to the customer",
                "add 'owner: $.customer_id' (where the answer names the record's customer) or put "
                "{customer_id} in the path or query so the API itself scopes the answer",
            )
        if name is LookupName.FILE_CLAIM and "idempotency_key" not in used:
            self.r.problem(
                node,
                path,
                "'file_claim' does not send {idempotency_key}",
                "send it, e.g. 'headers: {Idempotency-Key: \"{idempotency_key}\"}', so a retried "
                "request files one claim, not two",
            )
        if name is LookupName.FIND_CUSTOMER and not used & {"email", "phone"}:
            self.r.problem(
                node,
                path,
                "'find_customer' sends neither {email} nor {phone}",
                "put them in the query, e.g. 'query: {email: \"{email}\"}'",
            )
        if target is None or fields is None or method is None:
            return None
        return RestLookup(
            name=name,
            method=method,
            path=target,
            query=query,
            headers=headers,
            body=body,
            owner=owner,
            present=present,
            at=at,
            each=each,
            fields=fields,
            not_found=not_found,
        )

    def _derived(self, name: LookupName, pairs: Pairs, path: str) -> DerivedLookup | None:
        for key, (key_node, _value) in pairs.items():
            if key != "derive":
                self.r.problem(key_node, join(path, key), f"a derived lookup has no '{key}'", "remove it")
        node = pairs["derive"][1]
        source = self.r.text(node, join(path, "derive"), what="'derive'")
        if name is not LookupName.RETURN_ELIGIBILITY or source != LookupName.ORDER_STATUS:
            self.r.problem(
                node,
                join(path, "derive"),
                f"'{name}' cannot be derived from '{source}'",
                "only 'return_eligibility: {derive: order_status}' is supported; declare a request instead",
            )
            return None
        return DerivedLookup(name=name, source=LookupName.ORDER_STATUS)

    def _method(self, pairs: Pairs, path: str) -> HttpMethod | None:
        if "method" not in pairs:
            return HttpMethod.GET
        node = pairs["method"][1]
        text = (self.r.text(node, join(path, "method"), what="'method'") or "").upper()
        if text not in set(HttpMethod):
            self.r.problem(
                node,
                join(path, "method"),
                f"method '{node.value}' is not supported",
                f"use one of: {', '.join(HttpMethod)}",
            )
            return None
        return HttpMethod(text)

    def _template(self, node: yaml.Node, path: str, shape: LookupShape, *, what: str) -> Template | None:
        text = self.r.text(node, path, what=what, max_len=1000)
        if text is None:
            return None
        try:
            return parse_template(text, allowed=shape.variables)
        except TemplateSyntaxError as exc:
            self.r.problem(node, path, f"{what}: {exc.message}", exc.fix, offset=exc.offset)
            return None

    def _path(self, node: yaml.Node, path: str, shape: LookupShape) -> Template | None:
        template = self._template(node, path, shape, what="'path'")
        if template is None:
            return None
        if not template.text.startswith("/") or "//" in template.text or "?" in template.text or "#" in template.text:
            self.r.problem(
                node,
                path,
                f"'path' must be a path below base_url, not '{template.text}'",
                "start it with '/', and put query parameters under 'query:'",
            )
            return None
        return template

    def _templates(
        self, pairs: Pairs, key: str, path: str, shape: LookupShape, used: list[Template]
    ) -> dict[str, Template]:
        if key not in pairs:
            return {}
        where = join(path, key)
        found = self.r.pairs(pairs[key][1], where, what=f"'{key}'", fix="write it as 'name: value' lines")
        out: dict[str, Template] = {}
        for name, (name_node, value) in (found or {}).items():
            if key == "headers" and not _HEADER_NAME.fullmatch(name):
                self.r.problem(name_node, join(where, name), f"'{name}' is not a header name", "write e.g. X-Client")
                continue
            template = self._template(value, join(where, name), shape, what=f"'{key}.{name}'")
            if template is not None:
                out[name] = template
                used.append(template)
        return out

    def _not_found(self, node: yaml.Node, path: str) -> frozenset[int]:
        items = self.r.items(node, path, what="'not_found'", fix="write a list such as [404, 410]") or []
        codes: set[int] = set()
        for index, item in enumerate(items):
            code = self.r.integer(item, join(path, index), what="a status code", minimum=400, maximum=499)
            if code in (401, 403, 429):
                self.r.problem(
                    item,
                    join(path, index),
                    f"{code} cannot mean 'not found'",
                    "401/403 are credential failures and 429 is rate limiting; list e.g. 404, 410",
                )
            elif code is not None:
                codes.add(code)
        return frozenset(codes or {404})
