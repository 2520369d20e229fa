"""The email ``ChannelSender``: render the channel-neutral reply, send it through the relay."""

from __future__ import annotations

from collections.abc import Sequence

from channels.email.render import render_email
from channels.email.sender import EmailFile, EmailSender, OutboundEmail, RelaySettings
from conversation import ChannelKind, OutboundMessage, PermanentDeliveryError
from conversation.blobs import AttachmentFile

__all__ = ["EmailChannelSender", "FakeEmailChannelSender"]


class EmailChannelSender:
    """Sends replies through one SMTP relay; the provider id is the Message-ID we generated."""

    def __init__(self, relay: RelaySettings, *, from_address: str, from_name: str = "Glassdesk") -> None:
        self._sender = EmailSender(relay)
        self._from = from_address
        self._from_name = from_name

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.EMAIL

    @property
    def delivered_on_send(self) -> bool:
        return False

    @property
    def resend_is_harmless(self) -> bool:
        return False

    def render(self, message: OutboundMessage) -> OutboundEmail:
        if message.channel is not ChannelKind.EMAIL:
            raise PermanentDeliveryError(f"message {message.message_id} is for {message.channel.value}, not email")
        return render_email(message, from_address=self._from, from_name=self._from_name)

    def render_with(self, message: OutboundMessage, files: Sequence[AttachmentFile]) -> OutboundEmail:
        """The email with ``files`` as MIME parts (attachment disposition, RFC 2231 file names)."""
        email = self.render(message)
        parts = tuple(
            EmailFile(filename=f.attachment.filename, content_type=f.attachment.content_type, content=f.content)
            for f in files
        )
        return email.model_copy(update={"attachments": parts})

    async def send(self, message: OutboundMessage) -> str:
        return await self._sender.send(self.render(message))

    async def send_with_attachments(self, message: OutboundMessage, files: Sequence[AttachmentFile]) -> str:
        return await self._sender.send(self.render_with(message, files))

    async def aclose(self) -> None:
        """Nothing to close: the sender opens one relay connection per message."""


class FakeEmailChannelSender:
    """Renders like the real adapter and records the emails instead of sending them. ``fail_with``
    makes the next sends raise (a list is consumed one error per send; ``None`` entries succeed)."""

    def __init__(
        self, *, from_address: str = "support@glassdesk.local", fail_with: list[Exception | None] | None = None
    ) -> None:
        self._real = EmailChannelSender(RelaySettings(host="127.0.0.1", port=1), from_address=from_address)
        self.sent: list[OutboundEmail] = []
        self.fail_with = list(fail_with or [])

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.EMAIL

    @property
    def delivered_on_send(self) -> bool:
        return False

    @property
    def resend_is_harmless(self) -> bool:
        return False

    async def send(self, message: OutboundMessage) -> str:
        return await self.send_with_attachments(message, ())

    async def send_with_attachments(self, message: OutboundMessage, files: Sequence[AttachmentFile]) -> str:
        email = self._real.render_with(message, files)
        if self.fail_with:
            error = self.fail_with.pop(0)
            if error is not None:
                raise error
        self.sent.append(email)
        return f"<fake-{len(self.sent)}-{message.message_id}@glassdesk.local>"

    async def aclose(self) -> None:
        return None
