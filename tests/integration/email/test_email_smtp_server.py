"""Our SMTP server on 127.0.0.1 driven by aiosmtplib and raw sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib
import pytest

from channels.email import RunningSmtpServer, SmtpLimits, parse_email, start_smtp_server
from conversation import ServiceUnavailable

from .conftest import Cert


@dataclass
class Inbox:
    """The 'durable store' stand-in: records what the callback was given."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    fail_with: Exception | None = None

    async def persist(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.received.append((mail_from, rcpt_tos, raw))
        return f"in-{len(self.received)}"


Start = Callable[..., Awaitable[RunningSmtpServer]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    servers: list[RunningSmtpServer] = []

    async def _start(
        callback: Callable[[str, list[str], bytes], Awaitable[object]], **kwargs: object
    ) -> RunningSmtpServer:
        limits = kwargs.pop("limits", SmtpLimits())
        server = await start_smtp_server(host="127.0.0.1", port=0, handler_callback=callback, limits=limits, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield _start
    for server in servers:
        await server.aclose()


def _message(size: int = 0, to: str = "support@glassdesk.local") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Kunde <kunde@example.com>"
    msg["To"] = to
    msg["Subject"] = "Hilfe"
    msg["Message-ID"] = "<m1@example.com>"
    msg.set_content("Hallo, bitte helfen Sie mir.\n" + "x" * size)
    return msg


async def test_message_reaches_callback_and_gets_250(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist)
    errors, response = await aiosmtplib.send(
        _message(),
        hostname="127.0.0.1",
        port=server.port,
        start_tls=False,
        timeout=10,
        sender="kunde@example.com",
        recipients=["support+abcdefghijklmnop@glassdesk.local"],
    )
    assert errors == {}
    assert response.startswith("2.0.0 OK queued as in-1")
    ((mail_from, rcpts, raw),) = inbox.received
    assert mail_from == "kunde@example.com"
    assert rcpts == ["support+abcdefghijklmnop@glassdesk.local"]
    assert parse_email(raw).message_id == "<m1@example.com>"


async def test_250_only_after_the_callback_returned(start: Start) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    stored: list[bytes] = []

    async def slow_persist(mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        entered.set()
        await release.wait()
        stored.append(raw)

    server = await start(slow_persist)
    send = asyncio.create_task(
        aiosmtplib.send(_message(), hostname="127.0.0.1", port=server.port, start_tls=False, timeout=10)
    )
    await asyncio.wait_for(entered.wait(), 10)
    assert not send.done() and stored == []
    release.set()
    await send
    assert len(stored) == 1


@pytest.mark.parametrize("error", [ServiceUnavailable("db down"), RuntimeError("bug")])
async def test_failed_persist_answers_451_so_the_sender_retries(start: Start, error: Exception) -> None:
    server = await start(Inbox(fail_with=error).persist)
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        await aiosmtplib.send(_message(), hostname="127.0.0.1", port=server.port, start_tls=False, timeout=10)
    assert info.value.code == 451
    assert "db down" not in info.value.message and "bug" not in info.value.message


async def test_oversize_message_gets_552(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist, limits=SmtpLimits(data_size_limit=2000))
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        await aiosmtplib.send(_message(size=5000), hostname="127.0.0.1", port=server.port, start_tls=False, timeout=10)
    assert info.value.code == 552
    assert inbox.received == []


async def test_oversize_data_without_size_parameter_gets_552(start: Start) -> None:
    """A client that ignores the SIZE extension is still cut off at DATA."""
    inbox = Inbox()
    server = await start(inbox.persist, limits=SmtpLimits(data_size_limit=2000))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await reader.readline()
    replies = []
    for line in [b"HELO x", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"]:
        writer.write(line + b"\r\n")
        replies.append(await reader.readline())
    writer.write(b"Subject: big\r\n\r\n" + (b"y" * 76 + b"\r\n") * 70 + b".\r\n")
    final = await reader.readline()
    writer.close()
    assert replies[-1].startswith(b"354")
    assert final.startswith(b"552")
    assert inbox.received == []


async def test_recipients_beyond_the_cap_are_refused(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist, limits=SmtpLimits(max_recipients=3))
    rcpts = [f"r{i}@glassdesk.local" for i in range(5)]
    errors, _ = await aiosmtplib.send(
        _message(), hostname="127.0.0.1", port=server.port, start_tls=False, timeout=10, recipients=rcpts
    )
    assert {addr: resp.code for addr, resp in errors.items()} == {rcpts[3]: 452, rcpts[4]: 452}
    assert inbox.received[0][1] == rcpts[:3]


async def test_rcpt_flood_is_cut_by_the_command_call_limit(start: Start) -> None:
    server = await start(
        Inbox().persist,
        limits=SmtpLimits(max_recipients=1000, command_call_limit={"RCPT": 5, "NOOP": 3, "RSET": 3, "*": 20}),
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await reader.readline()
    writer.write(b"HELO x\r\nMAIL FROM:<a@example.com>\r\n")
    await reader.readline(), await reader.readline()
    codes: list[bytes] = []
    for i in range(50):  # bounded loop; the server must give up long before 50
        writer.write(f"RCPT TO:<r{i}@example.com>\r\n".encode())
        line = await reader.readline()
        if not line:
            break
        codes.append(line[:3])
    writer.close()
    assert codes[:5] == [b"250"] * 5
    assert codes[5] == b"421"
    assert len(codes) == 6


async def test_session_deadline_closes_a_busy_slow_session(start: Start) -> None:
    server = await start(
        Inbox().persist,
        limits=SmtpLimits(session_deadline=0.5, idle_timeout=30, command_call_limit={"NOOP": 10_000, "*": 10_000}),
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await reader.readline()
    lines: list[bytes] = []
    closed = False
    try:
        for _ in range(500):  # bounded: NOOPs keep re-arming the idle timeout, not the deadline
            writer.write(b"NOOP\r\n")
            line = await reader.readline()
            if not line:
                closed = True
                break
            lines.append(line)
            await asyncio.sleep(0.02)
    except ConnectionError:
        closed = True
    writer.close()
    assert closed, "the server kept a busy session open past its wall-clock deadline"
    assert lines and lines[0].startswith(b"250")
    assert all(line.startswith((b"250", b"421")) for line in lines)


async def test_session_deadline_closes_a_byte_dribbling_slowloris(start: Start) -> None:
    server = await start(Inbox().persist, limits=SmtpLimits(session_deadline=0.5, idle_timeout=30))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    received = bytearray()

    async def collect() -> None:
        try:
            while chunk := await reader.read(1024):
                received.extend(chunk)
        except ConnectionError:
            pass

    collector = asyncio.create_task(collect())
    for byte in b"HELO " + b"a" * 200:  # bounded: 1 byte every 50 ms, never a complete command
        if collector.done():
            break
        try:
            writer.write(bytes([byte]))
        except ConnectionError:
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(collector, 10)
    writer.close()
    assert received.startswith(b"220 ")
    assert b"421 4.4.2" in received


async def test_messages_per_session_are_capped(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist, limits=SmtpLimits(max_messages_per_session=1))
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, start_tls=False, timeout=5)
    await client.connect()
    await client.send_message(_message())
    with pytest.raises((aiosmtplib.SMTPResponseException, aiosmtplib.SMTPServerDisconnected)) as info:
        await client.send_message(_message())
    if isinstance(info.value, aiosmtplib.SMTPResponseException):
        assert info.value.code == 421
    client.close()
    assert len(inbox.received) == 1


async def test_greeting_does_not_leak_a_version(start: Start) -> None:
    server = await start(Inbox().persist)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    greeting = (await reader.readline()).decode()
    writer.close()
    assert greeting.startswith("220 ") and "Glassdesk ESMTP" in greeting
    assert "Python" not in greeting and "1.4" not in greeting


async def test_smuggled_second_message_is_not_accepted_separately(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await reader.readline()
    for line in [b"HELO x", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"]:
        writer.write(line + b"\r\n")
        await reader.readline()
    writer.write(
        b"Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<admin@example.com>\r\nRCPT TO:<b@example.com>\r\n"
        b"DATA\r\nSubject: smuggled\r\n\r\nsecond\r\n.\r\n"
    )
    assert (await reader.readline()).startswith(b"250")
    writer.write(b"QUIT\r\n")
    await reader.read()
    writer.close()
    assert len(inbox.received) == 1
    assert b"smuggled" in inbox.received[0][2]


async def test_auth_good_and_bad_password(start: Start) -> None:
    inbox = Inbox()
    server = await start(inbox.persist, auth_users={"agent": "s3cret"}, allow_plaintext_auth=True)
    bad = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, start_tls=False, timeout=5)
    async with bad:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
            await bad.login("agent", "wrong")
        assert info.value.code == 535
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await bad.login("nobody", "s3cret")
        with pytest.raises(aiosmtplib.SMTPResponseException) as unauth:
            await bad.send_message(_message())
        assert unauth.value.code == 530
    good = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, start_tls=False, timeout=5)
    async with good:
        await good.login("agent", "s3cret")
        await good.send_message(_message())
    assert len(inbox.received) == 1


async def test_auth_users_without_tls_must_be_explicit() -> None:
    with pytest.raises(ValueError, match="clear text"):
        await start_smtp_server(
            host="127.0.0.1", port=0, handler_callback=Inbox().persist, limits=SmtpLimits(), auth_users={"a": "b"}
        )


async def test_starttls_required_then_auth_and_delivery(start: Start, self_signed_cert: Cert) -> None:
    inbox = Inbox()
    server = await start(
        inbox.persist,
        tls_context=self_signed_cert.server_context(),
        require_starttls=True,
        auth_users={"agent": "s3cret"},
    )
    plain = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, start_tls=False, timeout=5)
    async with plain:
        assert not plain.supports_extension("auth")
        with pytest.raises(aiosmtplib.SMTPResponseException) as info:
            await plain.send_message(_message())
        assert info.value.code == 530
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=server.port,
        start_tls=True,
        timeout=5,
        tls_context=self_signed_cert.client_context(),
    )
    async with client:
        assert client.get_transport_info("sslcontext") is not None  # the session really runs over TLS
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await client.login("agent", "wrong")
        await client.login("agent", "s3cret")
        await client.send_message(_message())
    assert len(inbox.received) == 1


async def test_close_ends_open_sessions(start: Start) -> None:
    server = await start(Inbox().persist)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await reader.readline()
    server.close()
    assert await reader.read() in (b"",) or reader.at_eof()
    writer.close()
