"""Live updates over Redis pub/sub, so any web process can push to any browser.

One pub/sub connection per process, shared by every listener: a channel is subscribed when its first
local listener arrives and unsubscribed when its last one leaves, and one reader task fans messages
out to per-listener queues. (One connection per chat socket ran out of Redis connections at about
100 open sockets per process; see bench/turns.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from conversation.errors import ServiceUnavailable

__all__ = ["RedisLiveBus", "ALL", "LiveSubscriptionLost"]

ALL = "gd:live:all"
_QUEUE_SIZE = 256  # per listener; a listener this far behind loses the oldest live updates
log = logging.getLogger("glassdesk.live")


class LiveSubscriptionLost(ConnectionError):
    """The shared pub/sub connection broke; subscribe again (callers retry with backoff)."""


_LOST = object()


class RedisLiveBus:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:live:") -> None:
        self._r = client
        self._prefix = prefix
        self._listeners: dict[str, set[asyncio.Queue[Any]]] = {}
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _channel(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        data = json.dumps({"conversation_id": conversation_id, **payload}, default=str)
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.publish(self._channel(conversation_id), data)
                pipe.publish(ALL, data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"live bus unavailable ({type(exc).__name__}); nothing was published") from exc

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Several publishes in one pipeline (the edge publishes a whole ingest batch at once)."""
        if not items:
            return
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for conversation_id, payload in items:
                    data = json.dumps({"conversation_id": conversation_id, **payload}, default=str)
                    pipe.publish(self._channel(conversation_id), data)
                    pipe.publish(ALL, data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(f"live bus unavailable ({type(exc).__name__}); not all was published") from exc

    async def subscribe(self, conversation_id: str | None) -> AsyncIterator[dict[str, Any]]:
        """Yield payloads for one conversation, or for all when ``conversation_id`` is None.

        Raises :class:`LiveSubscriptionLost` when the connection to Redis breaks."""
        channel = ALL if conversation_id is None else self._channel(conversation_id)
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        await self._add(channel, queue)
        try:
            while True:
                item = await queue.get()
                if item is _LOST:
                    raise LiveSubscriptionLost("the live-update connection to Redis was lost")
                yield item
        finally:
            await self._remove(channel, queue)

    @property
    def listener_count(self) -> int:
        return sum(len(qs) for qs in self._listeners.values())

    async def _add(self, channel: str, queue: asyncio.Queue[Any]) -> None:
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._r.pubsub()
            listeners = self._listeners.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) == 1:
                try:
                    await self._pubsub.subscribe(channel)
                except Exception:
                    listeners.discard(queue)
                    if not listeners:
                        del self._listeners[channel]
                    raise
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(self._pubsub), name="glassdesk-live-reader")

    async def _remove(self, channel: str, queue: asyncio.Queue[Any]) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(queue)
            if not listeners:
                del self._listeners[channel]
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):  # a broken connection is replaced on the next add
                        await self._pubsub.unsubscribe(channel)

    async def _read(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                try:
                    payload = json.loads(message["data"])
                except ValueError:
                    continue
                for queue in list(self._listeners.get(channel, ())):
                    _offer(queue, payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection broke: tell every listener, start afresh
            log.warning("live-update subscription lost (%s); listeners will resubscribe", type(exc).__name__)
            async with self._lock:
                if self._pubsub is pubsub:
                    self._pubsub = None
                lost, self._listeners = self._listeners, {}
            for queues in lost.values():
                for queue in queues:
                    _offer(queue, _LOST)
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def aclose(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None


def _offer(queue: asyncio.Queue[Any], item: Any) -> None:
    """Put without waiting; a full queue drops its oldest item (a live view, not a log)."""
    while True:
        try:
            queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
