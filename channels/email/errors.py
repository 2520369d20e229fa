"""The email channel's errors: subclasses of the core tree in ``conversation.errors``.

Delivery failures are the core ``TransientDeliveryError`` / ``PermanentDeliveryError`` themselves,
so the deliverer's handlers catch them; only what is specific to email is defined here."""

from __future__ import annotations

import enum

from conversation.errors import InboundParseError, PermanentDeliveryError

__all__ = ["HeaderInjectionError", "ParseFailure", "EmailParseError"]


class HeaderInjectionError(PermanentDeliveryError, ValueError):
    """A header value or address contains CR, LF or NUL; the message is refused before sending."""


@enum.unique
class ParseFailure(enum.StrEnum):
    """Why raw inbound bytes could not be turned into a ``ParsedEmail`` at all."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    HEADER_TOO_LARGE = "header_too_large"
    MIME_TOO_DEEP = "mime_too_deep"
    TOO_MANY_PARTS = "too_many_parts"
    NOT_AN_EMAIL = "not_an_email"
    MALFORMED = "malformed"


class EmailParseError(InboundParseError):
    """Raw inbound bytes could not be parsed. The caller keeps the raw bytes and quarantines them."""

    def __init__(self, reason: ParseFailure, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason: ParseFailure = reason
