"""Glassdesk's one error tree. Adapters translate vendor errors into these; nothing else leaks upward.

Every channel's and connector's errors derive from a class here, so code that catches the core
classes catches every adapter's failures::

    GlassdeskError                      base of every error raised on purpose
    ├── NotFound                        missing, or not visible to the caller (indistinguishable)
    ├── VersionConflict                 someone changed the versioned thing first: reload, retry
    ├── InboundRejected                 failed verification (bad signature): 403, store nothing
    ├── InboundParseError               accepted but unusable: kept in quarantine with the reason
    ├── DeliveryError                   an outbound send did not succeed
    │   ├── TransientDeliveryError      nothing reached the provider (or it said "not now"): retry
    │   ├── PermanentDeliveryError      refused for good (invalid address, 5xx SMTP): do not retry
    │   └── OutcomeUnknown              the request may have reached the provider: never resend
    │                                   blindly; the provider's callback or a person settles it
    ├── LockNotAcquired                 another worker holds the conversation: try again later
    ├── LockLost                        our lease on a conversation expired: stop writing (fencing)
    └── ServiceUnavailable              a dependency is down: answer 503 / SMTP 451 so the sender
        └── StoreUnavailable            retries; the system of record cannot be reached

Deliverers and the worker catch these classes only. Each message says what went wrong and, where
a person can act, what to do.
"""

from __future__ import annotations

__all__ = [
    "GlassdeskError",
    "NotFound",
    "VersionConflict",
    "InboundRejected",
    "InboundParseError",
    "DeliveryError",
    "TransientDeliveryError",
    "PermanentDeliveryError",
    "OutcomeUnknown",
    "LockNotAcquired",
    "LockLost",
    "ServiceUnavailable",
    "StoreUnavailable",
]


class GlassdeskError(Exception):
    """Base of every error Glassdesk raises on purpose."""


class NotFound(GlassdeskError):
    """The object does not exist, or the caller may not see it (the two are indistinguishable)."""


class VersionConflict(GlassdeskError):
    """Someone else changed the versioned thing first (e.g. published a policy); reload and retry."""


class InboundRejected(GlassdeskError):
    """Inbound traffic that fails verification (bad signature): answer 403 and store nothing."""


class InboundParseError(GlassdeskError):
    """Inbound content we accepted but cannot parse: it is kept in quarantine with this reason.

    ``reason`` is a short machine-readable code (channels pass their own StrEnum members)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


class DeliveryError(GlassdeskError):
    """An outbound send did not succeed."""


class TransientDeliveryError(DeliveryError):
    """Retry later: nothing was delivered (rate limited, refused connection, provider 5xx/4xx SMTP)."""


class PermanentDeliveryError(DeliveryError):
    """Do not retry as is: invalid address, blocked number, provider refusal; a person takes over."""


class OutcomeUnknown(DeliveryError):
    """The request may have reached the provider (timeout or connection lost after sending).

    Resending could send twice: the outbox entry stays ``sending`` until the provider's status
    callback (which carries the outbox id) settles it, or the reconciler hands it to a person."""


class LockNotAcquired(GlassdeskError):
    """Another worker holds this conversation; try again later."""


class LockLost(GlassdeskError):
    """Our lease on a conversation expired or was taken over; a stale holder must not write."""


class ServiceUnavailable(GlassdeskError):
    """A dependency is down: answer 503 / SMTP 451 so the sender retries later."""


class StoreUnavailable(ServiceUnavailable):
    """The system of record cannot be reached: answer 503 / SMTP 451 so the sender retries."""
