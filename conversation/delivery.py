"""Delivery status as a monotonic state machine.

Provider callbacks arrive late, twice and out of order. A status only moves forward; terminal states
are sticky. ``read`` beats ``delivered``; a late ``failed`` never overwrites ``delivered``.
"""

from __future__ import annotations

from conversation.enums import DeliveryStatus

__all__ = ["advance_delivery", "is_terminal"]

_RANK: dict[DeliveryStatus, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.ACCEPTED: 0,
    DeliveryStatus.SCHEDULED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.PARTIALLY_DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
    DeliveryStatus.CANCELED: 4,
    DeliveryStatus.DELIVERED: 5,
    DeliveryStatus.READ: 6,
    DeliveryStatus.RECEIVED: 6,
}
_TERMINAL = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.CANCELED,
        DeliveryStatus.RECEIVED,
    }
)


def is_terminal(status: DeliveryStatus) -> bool:
    return status in _TERMINAL


def advance_delivery(current: DeliveryStatus | None, incoming: DeliveryStatus) -> DeliveryStatus:
    """The status after applying ``incoming`` to ``current``: never backwards, terminal stays terminal.

    The only move out of a terminal state is ``delivered`` -> ``read`` (a later, stronger receipt).
    """
    if current is None:
        return incoming
    if is_terminal(current):
        if current is DeliveryStatus.DELIVERED and incoming is DeliveryStatus.READ:
            return incoming
        return current
    return incoming if _RANK[incoming] > _RANK[current] else current
