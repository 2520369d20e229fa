"""The email channel's error tree.

Defined here for now; the integrator will later re-point the delivery errors to
``conversation.errors``. Every error says what went wrong and what to do about it.
"""

from __future__ import annotations

import enum

__all__ = [
    "EmailChannelError",
    "HeaderInjectionError",
    "InboundParseError",
    "ParseFailure",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "TransientError",
]


class EmailChannelError(Exception):
    """Base class of every error raised on purpose by ``channels.email``."""


class TransientError(EmailChannelError):
    """A temporary failure: the same operation may succeed if retried later.

    The SMTP server answers ``451 4.3.0`` when the inbound persist callback raises it
    (or any other exception), so the sending MTA retries.
    """


class TransientDeliveryError(TransientError):
    """Outbound delivery failed temporarily (4xx reply, refused connection, timeout). Retry."""


class PermanentDeliveryError(EmailChannelError):
    """Outbound delivery failed for good (5xx reply, invalid address). Do not retry as is."""


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


class InboundParseError(EmailChannelError):
    """Raw inbound bytes could not be parsed. The caller keeps the raw bytes and quarantines them."""

    def __init__(self, reason: ParseFailure, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")
