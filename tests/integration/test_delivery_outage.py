"""Replies through a channel outage, with each channel's real local server and a real container (SQLite and
Redis in tmp dirs): a reply meeting a server that is down or deferring waits ``pending`` and goes out
exactly once when the server is back; a refusal fails for good and is never retried; retries that
never get through end with a person in charge. "Sent once" is counted on what the server received.

Servers: email -> an aiosmtpd relay on 127.0.0.1 (not listening = down, RCPT 550 = refused, DATA 451 =
deferring); SMS -> the local Twilio endpoint (stopped = down, 400/21211 = refused, 429 = deferring);
chat -> the container's own Redis, a real redis-server that is stopped and started again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from redis.exceptions import RedisError
from sqlalchemy import select

from conversation import (
    Address,
    AuthorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    DeliveryStatus,
    EmailAddress,
    EventType,
    InboundMessage,
    OutboxState,
    PermanentDeliveryError,
    PhoneAddress,
    TransientDeliveryError,
)
from conversation.rediskit import RedisLiveBus, connect_redis
from conversation.rediskit.bus import LiveSubscriptionLost
from conversation.sql import schema as t
from conversation.sql import upgrade_database
from runtime.compose import open_container
from services.container import Container
from services.escalation import ATTENTION_QUEUE
from services.reconciler import Reconciler, ReconcileReport
from services.settings import Settings
from tests.contract.conftest import Delivered, RecordingRelay, RedisServer, SmtpStage
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

PUBLIC_URL = "https://help.example.test"
REPLY = "Ihre Bestellung 4711 hat heute unser Lager verlassen."
SMS_NUMBER = "+4915112345678"
CUSTOMER: dict[ChannelKind, Address] = {
    ChannelKind.EMAIL: EmailAddress(address="anna.kunde@example.com"),
    ChannelKind.SMS: PhoneAddress(number=SMS_NUMBER),
    ChannelKind.CHAT: ChatSession(session_id="sess-outage-0001"),
}
LATER = dt.timedelta(seconds=120)  # past every backoff (at most 60 s), short of re-queueing turns (300 s)


@enum.unique
class Outage(enum.StrEnum):
    DOWN = "down"  # not listening / stopped
    DEFERRING = "deferring"  # answers "not now" (SMTP 451, HTTP 429)


# -- the channels' servers -----------------------------------------------------------------------


class ChannelServer(Protocol):
    channel: ChannelKind

    def settings(self) -> dict[str, Any]:
        """The Settings fields that point the container at this server."""
        ...

    async def down(self) -> None: ...

    async def up(self) -> None:
        """Listening and answering normally again (any injected refusal or deferral ends)."""
        ...

    def defer(self) -> None: ...

    def refuse_for_good(self) -> None: ...

    async def received(self) -> list[Delivered]:
        """Everything the server accepted for the customer, oldest first."""
        ...

    def attempts(self) -> int:
        """Send attempts that reached the server, accepted or not."""
        ...

    async def aclose(self) -> None: ...


class RelayServer:
    channel = ChannelKind.EMAIL

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self.relay = RecordingRelay(port=free_port())

    def settings(self) -> dict[str, Any]:
        return {
            "redis_url": self._redis_url,
            "relay_host": "127.0.0.1",
            "relay_port": self.relay.port,
            "relay_starttls": False,
        }

    async def down(self) -> None:
        await self.relay.stop()

    async def up(self) -> None:
        self.relay.accept_all()
        if not self.relay.listening:
            await self.relay.start()

    def defer(self) -> None:
        self.relay.refuse(SmtpStage.DATA, "451 4.3.0 queue full, try again later")

    def refuse_for_good(self) -> None:
        self.relay.refuse(SmtpStage.RCPT, "550 5.1.1 <anna.kunde@example.com>: no such user")

    async def received(self) -> list[Delivered]:
        ids = [str(m["Message-ID"]) for m in self.relay.accepted]
        return [Delivered(text, pid) for text, pid in zip(self.relay.texts(), ids, strict=True)]

    def attempts(self) -> int:
        return self.relay.refused + len(self.relay.accepted)

    async def aclose(self) -> None:
        await self.relay.stop()


class TwilioServer:
    channel = ChannelKind.SMS

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self.api = LocalTwilioApi(port=free_port())
        self._running = False

    def settings(self) -> dict[str, Any]:
        return {
            "redis_url": self._redis_url,
            "twilio_api_base": self.api.base_url,
            "twilio_account_sid": DEFAULT_SID,
            "twilio_auth_token": DEFAULT_TOKEN,
        }

    async def down(self) -> None:
        if self._running:
            await asyncio.to_thread(self.api.stop)
            self._running = False

    async def up(self) -> None:
        if not self._running:
            await asyncio.to_thread(self.api.start)
            self._running = True

    def defer(self) -> None:
        self.api.fail_next(429, code=20429)  # once: the retry finds it answering again

    def refuse_for_good(self) -> None:
        self.api.fail_next(400, code=21211, times=1000)

    async def received(self) -> list[Delivered]:
        return [Delivered(str(m["body"]), str(m["sid"])) for m in self.api.messages if m["to"] == SMS_NUMBER]

    def attempts(self) -> int:
        return sum(1 for r in self.api.requests if r.method == "POST")

    async def aclose(self) -> None:
        await self.down()


class ChatRedis:
    """The container's Redis itself; a subscriber on every conversation (as the agent inbox listens)
    counts the chat replies that were published."""

    channel = ChannelKind.CHAT

    def __init__(self, folder: Path) -> None:
        self.server = RedisServer(folder)
        self._client = connect_redis(self.server.url)
        self._bus = RedisLiveBus(self._client)
        self._payloads: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._probes = 0

    def settings(self) -> dict[str, Any]:
        return {"redis_url": self.server.url}

    async def _listen(self) -> None:
        while True:  # a stopped Redis breaks the subscription: subscribe again
            try:
                async for payload in self._bus.subscribe(None):
                    self._payloads.append(payload)
            except (LiveSubscriptionLost, RedisError, OSError):
                await asyncio.sleep(0.02)

    async def _barrier(self) -> None:
        """Publish a probe and wait for it: everything published before it has been received."""
        self._probes += 1
        probe = {"event": "probe", "n": self._probes}

        async def seen() -> None:
            while not any(p.get("event") == "probe" and p.get("n") == probe["n"] for p in self._payloads):
                with contextlib.suppress(RedisError, OSError, ConnectionError):
                    await self._bus.publish("cv_probe", probe)  # until the subscription is in place
                await asyncio.sleep(0.02)

        await asyncio.wait_for(seen(), timeout=5)

    async def down(self) -> None:
        await asyncio.to_thread(self.server.stop)

    async def up(self) -> None:
        if not self.server.running:
            await asyncio.to_thread(self.server.start)
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="outage-chat-subscriber")
        await self._barrier()

    def defer(self) -> None:
        raise NotImplementedError("the live bus has no 'not now' answer")

    def refuse_for_good(self) -> None:
        raise NotImplementedError("the live bus refuses nothing")

    async def received(self) -> list[Delivered]:
        await self._barrier()
        replies = [p for p in self._payloads if p.get("event") == "chat_reply"]
        return [Delivered(str(p["text"]), None) for p in replies]

    def attempts(self) -> int:
        raise NotImplementedError("a publish leaves no trace in Redis")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._bus.aclose()
        await self._client.aclose()
        self.server.stop()


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations run once; each test opens a copy (open_container(migrate=False))."""
    path = tmp_path_factory.mktemp("db") / "glassdesk.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


ServerFactory = Callable[[ChannelKind], Awaitable[ChannelServer]]


@pytest.fixture(scope="module")
def container_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The email and SMS containers' Redis (a redis-server of its own starts and stops in a tenth of a second)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()  # a short path: unix sockets allow 108 bytes
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def servers(container_redis: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerFactory]:
    redis_url = container_redis
    made: list[ChannelServer] = []

    async def make(channel: ChannelKind) -> ChannelServer:
        server: ChannelServer
        if channel is ChannelKind.EMAIL:
            server = RelayServer(redis_url)
        elif channel is ChannelKind.SMS:
            server = TwilioServer(redis_url)
        else:
            chat = ChatRedis(tmp_path_factory.mktemp("redis"))
            await chat.up()
            server = chat
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            await server.aclose()


@contextlib.asynccontextmanager
async def _container(tmp_path: Path, db: Path, server: ChannelServer, **overrides: Any) -> AsyncIterator[Container]:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(db, var / "glassdesk.db")
    settings = Settings(var_dir=var, public_url=PUBLIC_URL, **{**server.settings(), **overrides})
    async with open_container(settings, migrate=False) as container:
        yield container


@dataclass(frozen=True)
class Entry:
    id: str
    state: OutboxState
    attempts: int
    provider_id: str | None
    message_id: str
    author_kind: AuthorKind
    text: str


async def _entries(c: Container, conversation_id: str) -> list[Entry]:
    """The conversation's outbox entries, oldest first, read from the database."""
    o, m = t.outbox, t.messages
    query = (
        select(o.c.id, o.c.state, o.c.attempts, o.c.provider_id, o.c.message_id, m.c.author_kind, m.c.text)
        .join(m, m.c.id == o.c.message_id)
        .where(m.c.conversation_id == conversation_id)
        .order_by(o.c.created_at)
    )
    async with c.db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        Entry(
            r.id, OutboxState(r.state), int(r.attempts), r.provider_id, r.message_id, AuthorKind(r.author_kind), r.text
        )
        for r in rows
    ]


async def _events(c: Container, conversation_id: str, kind: EventType) -> list[dict[str, Any]]:
    return [e.data for e in await c.timeline.list_events(conversation_id) if e.type is kind]


async def _ingest(c: Container, channel: ChannelKind) -> tuple[str, str]:
    """A customer's message on ``channel``; returns (inbound message id, conversation id)."""
    meta: dict[str, Any] = {}
    if channel is ChannelKind.EMAIL:
        external_id = f"<in-{uuid.uuid4().hex}@customer.example>"
        meta = {"subject": "Bestellung 4711", "message_id": external_id, "references": []}
    elif channel is ChannelKind.SMS:
        external_id = "SM" + uuid.uuid4().hex
    else:
        external_id = str(uuid.uuid4())
    result = await c.messages.ingest(
        InboundMessage(
            channel=channel,
            external_id=external_id,
            address=CUSTOMER[channel],
            text="Wo ist meine Bestellung 4711?",
            meta=meta,
        )
    )
    return result.message.id, result.conversation.id


async def _reply(c: Container, conversation_id: str, inbound_id: str) -> None:
    await c.deliverer.deliver(conversation_id, REPLY, author_kind=AuthorKind.AI, language="de", causation_id=inbound_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _count(got: list[Delivered], text: str) -> int:
    return sum(text in d.text for d in got)


# -- a. and c.: down or deferring, then back -----------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "outage"),
    [
        (ChannelKind.EMAIL, Outage.DOWN),
        (ChannelKind.SMS, Outage.DOWN),
        (ChannelKind.CHAT, Outage.DOWN),
        (ChannelKind.EMAIL, Outage.DEFERRING),
        (ChannelKind.SMS, Outage.DEFERRING),
    ],
    ids=str,
)
async def test_a_reply_during_an_outage_waits_and_goes_out_once_when_the_server_is_back(
    channel: ChannelKind, outage: Outage, servers: ServerFactory, migrated_db: Path, tmp_path: Path
) -> None:
    server = await servers(channel)
    async with _container(tmp_path, migrated_db, server) as c:
        inbound, conv = await _ingest(c, channel)
        if outage is Outage.DOWN:
            await server.down()
        else:
            await server.up()
            server.defer()

        with pytest.raises(TransientDeliveryError):
            await _reply(c, conv, inbound)
        [entry] = await _entries(c, conv)
        assert (entry.state, entry.attempts, entry.provider_id) == (OutboxState.PENDING, 1, None)
        assert (await c.messages.get_message(entry.message_id)).external_id is None
        assert await _events(c, conv, EventType.SENT) == []

        await server.up()
        assert await server.received() == []
        now = _now()
        report = await Reconciler(c).run_once(now=now + dt.timedelta(seconds=2))
        assert report.resent == [entry.id] and report.gave_up == []
        [sent] = await _entries(c, conv)
        assert sent.state is OutboxState.SENT and sent.provider_id
        message = await c.messages.get_message(entry.message_id)
        assert message.external_id == sent.provider_id
        if channel is ChannelKind.CHAT:
            assert message.delivery_status is DeliveryStatus.DELIVERED  # a published chat reply is delivered
        assert [e["message_id"] for e in await _events(c, conv, EventType.SENT)] == [entry.message_id]
        [got] = await server.received()
        assert REPLY in got.text
        if got.provider_id is not None:
            assert got.provider_id == sent.provider_id

        again = await Reconciler(c).run_once(now=now + LATER)
        assert again.resent == [] and again.gave_up == []
        assert _count(await server.received(), REPLY) == 1
        assert len(await _events(c, conv, EventType.SENT)) == 1
        if channel is not ChannelKind.CHAT:  # a deferral reached the server; a dead server saw nothing
            assert server.attempts() == (1 if outage is Outage.DOWN else 2)


# -- b. refused for good -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [ChannelKind.EMAIL, ChannelKind.SMS], ids=str)
async def test_a_refused_reply_fails_for_good_and_is_never_retried(
    channel: ChannelKind, servers: ServerFactory, migrated_db: Path, tmp_path: Path
) -> None:
    server = await servers(channel)
    async with _container(tmp_path, migrated_db, server) as c:
        inbound, conv = await _ingest(c, channel)
        await server.up()
        server.refuse_for_good()

        with pytest.raises(PermanentDeliveryError):
            await _reply(c, conv, inbound)
        [entry] = await _entries(c, conv)
        assert entry.state is OutboxState.FAILED and entry.attempts == 1
        assert (await c.messages.get_message(entry.message_id)).external_id is None
        assert [e["message_id"] for e in await _events(c, conv, EventType.FAILED)] == [entry.message_id]
        assert await _events(c, conv, EventType.SENT) == []

        report = await Reconciler(c).run_once(now=_now() + LATER)
        assert report.resent == [] and report.gave_up == []
        assert server.attempts() == 1  # never tried again
        assert await server.received() == []


@pytest.mark.parametrize("channel", [ChannelKind.EMAIL, ChannelKind.SMS], ids=str)
async def test_a_reply_refused_on_its_retry_goes_to_a_person(
    channel: ChannelKind, servers: ServerFactory, migrated_db: Path, tmp_path: Path
) -> None:
    server = await servers(channel)
    async with _container(tmp_path, migrated_db, server) as c:
        inbound, conv = await _ingest(c, channel)
        await server.down()
        with pytest.raises(TransientDeliveryError):
            await _reply(c, conv, inbound)
        [entry] = await _entries(c, conv)

        await server.up()
        server.refuse_for_good()
        report = await Reconciler(c).run_once(now=_now() + dt.timedelta(seconds=2))
        assert report.gave_up == [entry.id] and report.resent == []

        reply, notice = await _entries(c, conv)
        assert (reply.id, reply.state) == (entry.id, OutboxState.FAILED)
        assert notice.author_kind is AuthorKind.SYSTEM and notice.state is OutboxState.FAILED  # refused as well
        assert entry.message_id in [e["message_id"] for e in await _events(c, conv, EventType.FAILED)]
        assert await _events(c, conv, EventType.SENT) == []
        conversation = await c.messages.get_conversation(conv)
        assert (conversation.status, conversation.queue) == (ConversationStatus.HANDED_OFF, ATTENTION_QUEUE)
        assert len(await _events(c, conv, EventType.HANDED_OFF)) == 1
        assert await server.received() == []


# -- d. retries exhausted ------------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(ChannelKind), ids=str)
async def test_a_reply_that_never_gets_through_goes_to_a_person_and_is_never_sent(
    channel: ChannelKind, servers: ServerFactory, migrated_db: Path, tmp_path: Path
) -> None:
    server = await servers(channel)
    async with _container(tmp_path, migrated_db, server, outbox_max_attempts=2) as c:
        inbound, conv = await _ingest(c, channel)
        await server.down()
        with pytest.raises(TransientDeliveryError):
            await _reply(c, conv, inbound)
        [entry] = await _entries(c, conv)

        reconciler, at = Reconciler(c), _now()
        passes: list[ReconcileReport] = []
        while not (passes and passes[-1].gave_up) and len(passes) < 5:
            at += dt.timedelta(seconds=5)  # past the backoff of every attempt so far
            passes.append(await reconciler.run_once(now=at))
        assert [p.gave_up for p in passes] == [[], [entry.id]]  # one retry, then it gives up
        assert all(p.resent == [] for p in passes)

        reply, notice = await _entries(c, conv)
        assert (reply.id, reply.state) == (entry.id, OutboxState.FAILED)
        assert entry.message_id in [e["message_id"] for e in await _events(c, conv, EventType.FAILED)]
        assert await _events(c, conv, EventType.SENT) == []
        conversation = await c.messages.get_conversation(conv)
        assert (conversation.status, conversation.queue) == (ConversationStatus.HANDED_OFF, ATTENTION_QUEUE)
        assert notice.author_kind is AuthorKind.SYSTEM and notice.state is OutboxState.PENDING  # waits itself
        assert (await c.messages.get_message(reply.message_id)).external_id is None

        await server.up()  # back: the notice goes out, the given-up reply never does
        final = await reconciler.run_once(now=at + LATER)
        assert final.resent == [notice.id]
        got = await server.received()
        assert _count(got, notice.text) == 1 and _count(got, REPLY) == 0
        assert [e["message_id"] for e in await _events(c, conv, EventType.SENT)] == [notice.message_id]
