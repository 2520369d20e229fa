"""Runs turns for the worker. Until understanding and policies are wired, every turn is handed to
the human triage queue: a person answers, nothing automated goes out."""

from __future__ import annotations

from collections.abc import Sequence

from conversation import ActorKind, ConversationStatus, EventType, Priority, TimelineEvent
from conversation.ports import Delivery
from flows.bootstrap import Services

__all__ = ["TurnRunner"]


class TurnRunner:
    def __init__(self, services: Services) -> None:
        self._s = services

    @classmethod
    async def create(cls, services: Services) -> "TurnRunner":
        return cls(services)

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> dict[str, BaseException | None]:
        results: dict[str, BaseException | None] = {}
        for d in deliveries:
            try:
                async with self._s.locks.hold(d.ref.conversation_id, timeout_s=120, wait_s=10):
                    await self._handoff(d.ref.conversation_id, d.ref.message_id)
                results[d.entry_id] = None
            except Exception as exc:  # noqa: BLE001 - reported per entry; the entry stays pending
                results[d.entry_id] = exc
        return results

    async def _handoff(self, conversation_id: str, message_id: str) -> None:
        await self._s.messages.route_conversation(
            conversation_id, ConversationStatus.HANDED_OFF, queue="triage", priority=Priority.NORMAL
        )
        event = TimelineEvent(conversation_id=conversation_id, type=EventType.HANDED_OFF, actor=ActorKind.SYSTEM,
                              causation_id=message_id, data={"queue": "triage"})
        await self._s.timeline.add_event(event)
        await self._s.bus.publish(conversation_id, {"event": event.type.value, "actor": event.actor.value})
