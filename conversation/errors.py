"""Our own error tree. Adapters translate vendor errors into these; nothing else leaks upward."""

from __future__ import annotations

__all__ = [
    "GlassdeskError",
    "NotFound",
    "InboundRejected",
    "InboundParseError",
    "DeliveryError",
    "TransientDeliveryError",
    "PermanentDeliveryError",
    "LockNotAcquired",
    "StoreUnavailable",
]


class GlassdeskError(Exception):
    """Base of every error Glassdesk raises on purpose."""


class NotFound(GlassdeskError):
    """The object does not exist, or the caller may not see it (the two are indistinguishable)."""


class InboundRejected(GlassdeskError):
    """Inbound traffic that fails verification (bad signature): answer 403 and store nothing."""


class InboundParseError(GlassdeskError):
    """Inbound content we accepted but cannot parse: it is kept in quarantine with this reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class DeliveryError(GlassdeskError):
    """An outbound send did not succeed."""


class TransientDeliveryError(DeliveryError):
    """Retry later: rate limited, timed out, provider 5xx, connection refused."""


class PermanentDeliveryError(DeliveryError):
    """Do not retry: invalid address, blocked number, provider 4xx other than 429."""


class VersionConflict(GlassdeskError):
    """Someone else changed the versioned thing first (e.g. published a policy); reload and retry."""


class LockNotAcquired(GlassdeskError):
    """Another worker holds this conversation; try again later."""


class StoreUnavailable(GlassdeskError):
    """The system of record cannot be reached: answer 503 / SMTP 451 so the sender retries."""
