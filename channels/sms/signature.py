"""Verify X-Twilio-Signature (HMAC-SHA1 with the account Auth Token), failing closed.

The signed URL is rebuilt from configuration (``public_url``) plus the path and query exactly as
received, never from ``Host`` or ``X-Forwarded-*``. Form webhooks sign URL + sorted parameters; JSON
webhooks sign the URL, which carries ``bodySHA256`` = hex SHA-256 of the raw body.

Form webhooks accept exactly what twilio's ``RequestValidator.validate`` accepts (the URL with its
default port removed or added), but compute the signature for the URL as configured first and stop
at the first match: a genuine webhook costs one HMAC instead of the two ``validate`` always computes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qs, urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port

from conversation.errors import InboundRejected

__all__ = ["WebhookVerifier", "webhook_url", "SIGNATURE_HEADER", "sign_webhook"]

SIGNATURE_HEADER = "X-Twilio-Signature"


def webhook_url(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio signed: our configured public base, then the path and raw query as received."""
    return public_url.rstrip("/") + path + (f"?{query}" if query else "")


def sign_webhook(url: str, params: dict[str, str], *, auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a form webhook (development tools and tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


class _Params:
    """Multi-valued parameters in the shape RequestValidator reads (``getall``)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._d: dict[str, list[str]] = {}
        for k, v in pairs:
            self._d.setdefault(k, []).append(v)

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def getall(self, name: str) -> list[str]:
        return self._d[name]


def _signed_url_variants(url: str) -> list[str]:
    """The URLs twilio's ``validate`` checks (without and with the default port), the configured
    one first (it is what Twilio signed)."""
    parsed = urlparse(url)
    variants = [remove_port(parsed), add_port(parsed)]
    if url in variants:
        variants.remove(url)
        variants.insert(0, url)
    return list(dict.fromkeys(variants))


class WebhookVerifier:
    """Wraps twilio's RequestValidator. Every failure raises :class:`InboundRejected`."""

    def __init__(self, auth_token: str) -> None:
        if not auth_token:
            raise ValueError("a Twilio Auth Token is required to verify webhooks")
        self._validator = RequestValidator(auth_token)

    def verify_form(self, url: str, pairs: Iterable[tuple[str, str]], signature: str | None) -> None:
        """A form-encoded webhook: the signature covers ``url`` and every parameter."""
        if not signature:
            raise InboundRejected("missing X-Twilio-Signature")
        params = _Params(pairs)
        given = signature.encode()
        for candidate in _signed_url_variants(url):
            expected = self._validator.compute_signature(candidate, params).encode()
            if hmac.compare_digest(expected, given):
                return
        raise InboundRejected("X-Twilio-Signature does not match")

    def verify_json(self, url: str, body: bytes, signature: str | None) -> None:
        """A JSON webhook: the signature covers ``url`` (with ``bodySHA256``), the hash covers ``body``."""
        if not signature:
            raise InboundRejected("missing X-Twilio-Signature")
        query = parse_qs(url.partition("?")[2], keep_blank_values=True)
        claimed = query.get("bodySHA256", [""])
        if len(claimed) != 1 or not claimed[0]:
            raise InboundRejected("a JSON webhook needs exactly one bodySHA256 query parameter")
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest().encode(), claimed[0].lower().encode()):
            raise InboundRejected("bodySHA256 does not match the body")
        if not self._validator.validate(url, {}, signature):
            raise InboundRejected("X-Twilio-Signature does not match")
