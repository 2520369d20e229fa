"""EmailSender delivering into a recording aiosmtpd relay on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.email import (
    EmailSender,
    Mailbox,
    OutboundEmail,
    RelaySettings,
)
from conversation import PermanentDeliveryError, TransientDeliveryError

from .conftest import Cert

DISCLOSURE = "Hinweis: Diese Antwort wurde mit Hilfe von KI erstellt."


@dataclass
class RecordingRelay:
    """aiosmtpd handler that records envelopes, or answers with a configured failure."""

    envelopes: list[Envelope] = field(default_factory=list)
    data_reply: str | None = None
    rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 2.0.0 OK queued as relay-1"

    def message(self, index: int = 0) -> EmailMessage:
        raw = self.envelopes[index].original_content or self.envelopes[index].content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _auth(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"relayuser", b"relaypass")
    return AuthResult(success=ok, handled=False)


@dataclass
class Relay:
    handler: RecordingRelay
    port: int


async def _relay(**smtp_kwargs: object) -> tuple[Relay, asyncio.Server]:
    handler = RecordingRelay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="relay.test", loop=loop, **smtp_kwargs),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=0,
    )
    return Relay(handler, server.sockets[0].getsockname()[1]), server


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    r, server = await _relay()
    yield r
    server.close()
    await server.wait_closed()


def _outbound(**overrides: object) -> OutboundEmail:
    values: dict[str, object] = {
        "to": (Mailbox(address="kunde@example.com", display_name="Kundin Öztürk"),),
        "from": Mailbox(address="support@glassdesk.test", display_name="Support"),
        "subject": "Re: Schaden 4711",
        "text": "Guten Tag,\n\nwir haben Ihre Unterlagen erhalten.\n\nIhr Team",
        "in_reply_to": "<c2@example.com>",
        "references": ("<c1@example.com>", "<gd.0@glassdesk.test>"),
        "reply_token": "abcdefghijklmnop",
        "ai_generated": True,
        "ai_disclosure": DISCLOSURE,
    }
    values.update(overrides)
    return OutboundEmail.model_validate(values)


def _sender(port: int, **overrides: object) -> EmailSender:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "timeout": 5,
        "message_id_domain": "glassdesk.test",
    }
    settings.update(overrides)
    return EmailSender(RelaySettings.model_validate(settings))


async def test_delivered_message_has_threading_alternative_and_disclosure(relay: Relay) -> None:
    provider_id = await _sender(relay.port).send(_outbound())
    (envelope,) = relay.handler.envelopes
    assert envelope.mail_from == "support@glassdesk.test"
    assert envelope.rcpt_tos == ["kunde@example.com"]
    msg = relay.handler.message()
    assert msg["Message-ID"] == provider_id
    assert provider_id.startswith("<gd.") and provider_id.endswith("@glassdesk.test>")
    assert msg["In-Reply-To"] == "<c2@example.com>"
    assert msg["References"] == "<c1@example.com> <gd.0@glassdesk.test> <c2@example.com>"
    assert msg["X-Glassdesk-AI"] == "generated"
    assert msg["Reply-To"].addresses[0].addr_spec == "support+abcdefghijklmnop@glassdesk.test"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert text.startswith(DISCLOSURE) and "wir haben Ihre Unterlagen erhalten." in text
    assert DISCLOSURE in html and "wir haben Ihre Unterlagen erhalten." in html


async def test_human_reply_has_no_ai_header(relay: Relay) -> None:
    await _sender(relay.port).send(_outbound(ai_generated=False, ai_disclosure=None))
    msg = relay.handler.message()
    assert "X-Glassdesk-AI" not in msg
    assert DISCLOSURE not in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("field", "reply", "error"),
    [
        ("data_reply", "451 4.3.0 try later", TransientDeliveryError),
        ("data_reply", "554 5.7.1 rejected as spam", PermanentDeliveryError),
        ("rcpt_reply", "550 5.1.1 no such user", PermanentDeliveryError),
        ("rcpt_reply", "450 4.2.1 mailbox busy", TransientDeliveryError),
    ],
)
async def test_relay_replies_map_to_our_errors(relay: Relay, field: str, reply: str, error: type[Exception]) -> None:
    setattr(relay.handler, field, reply)
    with pytest.raises(error):
        await _sender(relay.port).send(_outbound())
    assert relay.handler.envelopes == []


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(TransientDeliveryError, match="could not deliver"):
        await _sender(port).send(_outbound())


async def test_relay_auth_good_and_bad() -> None:
    relay, server = await _relay(auth_require_tls=False, authenticator=_auth)
    try:
        await _sender(relay.port, username="relayuser", password="relaypass").send(_outbound())
        assert len(relay.handler.envelopes) == 1
        with pytest.raises(PermanentDeliveryError, match="535"):
            await _sender(relay.port, username="relayuser", password="nope").send(_outbound())
    finally:
        server.close()
        await server.wait_closed()


async def test_starttls_to_relay(self_signed_cert: Cert) -> None:
    relay, server = await _relay(tls_context=self_signed_cert.server_context(), require_starttls=True)
    try:
        sender = EmailSender(
            RelaySettings(host="localhost", port=relay.port, starttls=True, timeout=5),
            tls_context=self_signed_cert.client_context(),
        )
        await sender.send(_outbound())
        assert len(relay.handler.envelopes) == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_crlf_injection_never_reaches_the_relay(relay: Relay) -> None:
    bad = _outbound().model_copy(update={"subject": "Hallo\r\nBcc: victim@example.com"})
    with pytest.raises(PermanentDeliveryError):
        await _sender(relay.port).send(bad)
    bad_rcpt = _outbound().model_copy(
        update={
            "to": (
                Mailbox.model_construct(address="kunde@example.com>\r\nRCPT TO:<victim@example.com", display_name=None),
            )
        }
    )
    with pytest.raises(PermanentDeliveryError):
        await _sender(relay.port).send(bad_rcpt)
    assert relay.handler.envelopes == []
