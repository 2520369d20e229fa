"""The chat ``ChannelSender``: publish the reply to every open socket of the conversation.

A published reply counts as delivered: open sockets show it at once and a socket that connects
later gets it in the history. When the live bus is down nothing was published, so the send is
transient and the deliverer retries it."""

from __future__ import annotations

from typing import Any

from channels.chat.render import chat_reply_payload
from conversation import (
    ChannelKind,
    OutboundMessage,
    PermanentDeliveryError,
    ServiceUnavailable,
    TransientDeliveryError,
)
from conversation.ports import LiveBus

__all__ = ["ChatChannelSender", "FakeChatChannelSender"]


def _payload(message: OutboundMessage) -> dict[str, Any]:
    if message.channel is not ChannelKind.CHAT:
        raise PermanentDeliveryError(f"message {message.message_id} is for {message.channel.value}, not chat")
    return chat_reply_payload(message)


class ChatChannelSender:
    def __init__(self, bus: LiveBus) -> None:
        self._bus = bus

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.CHAT

    @property
    def delivered_on_send(self) -> bool:
        return True

    @property
    def resend_is_harmless(self) -> bool:
        return True

    async def send(self, message: OutboundMessage) -> str:
        payload = _payload(message)
        try:
            await self._bus.publish(message.conversation_id, payload)
        except (ServiceUnavailable, OSError) as exc:
            raise TransientDeliveryError(f"chat reply {message.message_id} not published: {exc}") from exc
        return f"chat:{message.message_id}"

    async def aclose(self) -> None:
        return None


class FakeChatChannelSender:
    """Records the payloads the real adapter would publish. ``fail_with`` as for the other fakes."""

    def __init__(self, *, fail_with: list[Exception | None] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_with = list(fail_with or [])

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.CHAT

    @property
    def delivered_on_send(self) -> bool:
        return True

    @property
    def resend_is_harmless(self) -> bool:
        return True

    async def send(self, message: OutboundMessage) -> str:
        payload = _payload(message)
        if self.fail_with:
            error = self.fail_with.pop(0)
            if error is not None:
                raise error
        self.sent.append(payload)
        return f"chat:{message.message_id}"

    async def aclose(self) -> None:
        return None
