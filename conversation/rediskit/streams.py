"""The inbound turn queue on Redis Streams: a consumer group, at-least-once.

- ``read`` first reclaims entries idle longer than ``min_idle_ms`` (XAUTOCLAIM: their consumer died
  before XACK), then reads new ones (XREADGROUP ``>``).
- Each delivery knows how often it was delivered (the PEL counter). The worker dead-letters an entry
  after ``max_deliveries`` so one poison message never blocks the rest.
- Entries carry ids only, never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from conversation.models import TurnRef

__all__ = ["RedisTurnQueue", "StreamDelivery"]

# redis-py types each reply for every client mode at once (bytes or str, RESP2 lists or RESP3 maps).
# The queue runs on the client of ``connect_redis``: replies decoded to str, in redis-py's default
# RESP2 shapes (``legacy_responses``). These aliases are those shapes; the casts below apply them.
_Fields = dict[str, str]
_Entry = tuple[str, _Fields | None]  # fields are None for an entry deleted while pending
_StreamEntries = list[tuple[str, list[_Entry]]]  # XREADGROUP: [stream, entries] per stream


@dataclass(frozen=True, slots=True)
class StreamDelivery:
    entry_id: str
    ref: TurnRef
    deliveries: int


class RedisTurnQueue:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str = "gd:turns",
        group: str = "workers",
        dead_letter_stream: str = "gd:turns:dead",
        min_idle_ms: int = 60_000,
        max_len: int = 1_000_000,
    ) -> None:
        self._r = client
        self.stream = stream
        self.group = group
        self.dead_letter_stream = dead_letter_stream
        self.min_idle_ms = min_idle_ms
        self._max_len = max_len
        self._ready = False

    async def ensure_group(self) -> None:
        if self._ready:
            return
        try:
            await self._r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    async def enqueue(self, ref: TurnRef) -> str:
        await self.ensure_group()
        entry_id = await self._r.xadd(
            self.stream,
            {"message_id": ref.message_id, "conversation_id": ref.conversation_id},
            maxlen=self._max_len,
            approximate=True,
        )
        return cast(str, entry_id)

    async def enqueue_many(self, refs: list[TurnRef]) -> list[str | Exception]:
        """Queue several turns in one round trip (a pipeline, not a transaction): per ref, its entry
        id or the error Redis answered for it. A broken connection raises for all of them."""
        await self.ensure_group()
        async with self._r.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.xadd(
                    self.stream,
                    {"message_id": ref.message_id, "conversation_id": ref.conversation_id},
                    maxlen=self._max_len,
                    approximate=True,
                )
            replies = await pipe.execute(raise_on_error=False)
        return [r if isinstance(r, Exception) else cast(str, r) for r in replies]

    async def read(self, consumer: str, *, count: int = 10, block_ms: int = 1000) -> list[StreamDelivery]:
        try:
            return await self._read(consumer, count=count, block_ms=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (a restart without persistence, a flush): create it again from the
            # start of the stream so entries added since are delivered, then read once more.
            self._ready = False
            return await self._read(consumer, count=count, block_ms=block_ms)

    async def _read(self, consumer: str, *, count: int, block_ms: int) -> list[StreamDelivery]:
        await self.ensure_group()
        out = await self._reclaim(consumer, count)
        if len(out) >= count:
            return out
        resp = cast(
            _StreamEntries | None,
            await self._r.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count - len(out), block=block_ms if not out else None
            ),
        )
        for _stream, entries in resp or []:
            for entry_id, fields in entries:
                if fields:
                    out.append(StreamDelivery(entry_id, _ref(fields), 1))
        return out

    async def _reclaim(self, consumer: str, count: int) -> list[StreamDelivery]:
        # Redis 6.2 answers [cursor, entries]; Redis 7 adds a third list of deleted ids.
        reply = await self._r.xautoclaim(
            self.stream, self.group, consumer, min_idle_time=self.min_idle_ms, start_id="0-0", count=count
        )
        claimed = reply[1]
        out: list[StreamDelivery] = []
        for entry_id, fields in claimed:
            if not fields:
                continue
            pending = await self._r.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            times = int(pending[0]["times_delivered"]) if pending else 1
            out.append(StreamDelivery(entry_id, _ref(fields), times))
        return out

    async def touch(self, consumer: str, entry_ids: list[str]) -> None:
        """Reset the idle time of entries this consumer is still working on, so only a dead worker's
        entries reach ``min_idle_ms`` and are reclaimed (XCLAIM ... JUSTID, delivery count unchanged)."""
        if entry_ids:
            # a fresh list: redis-py types message_ids as list[StreamIdT], and list is invariant
            await self._r.xclaim(
                self.stream, self.group, consumer, min_idle_time=0, message_ids=[*entry_ids], justid=True
            )

    async def ack(self, entry_id: str) -> None:
        await self._r.xack(self.stream, self.group, entry_id)

    async def dead_letter(self, delivery: StreamDelivery, *, reason: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dead_letter_stream,
                {
                    "message_id": delivery.ref.message_id,
                    "conversation_id": delivery.ref.conversation_id,
                    "entry_id": delivery.entry_id,
                    "deliveries": str(delivery.deliveries),
                    "reason": reason[:500],
                },
            )
            pipe.xack(self.stream, self.group, delivery.entry_id)
            await pipe.execute()

    async def depth(self) -> dict[str, int]:
        """Backlog figures for the ops dashboard and health."""
        await self.ensure_group()
        groups = await self._r.xinfo_groups(self.stream)
        info = next((g for g in groups if g["name"] == self.group), {})
        return {
            "pending": int(info.get("pending", 0)),
            "lag": int(info.get("lag") or 0),
            "dead": int(await self._r.xlen(self.dead_letter_stream)),
        }

    async def dead_letters(self, *, count: int = 100) -> list[dict[str, str]]:
        entries = cast(list[tuple[str, _Fields]] | None, await self._r.xrevrange(self.dead_letter_stream, count=count))
        return [{"id": eid, **fields} for eid, fields in entries or []]


def _ref(fields: dict[str, str]) -> TurnRef:
    return TurnRef(message_id=fields["message_id"], conversation_id=fields["conversation_id"])
