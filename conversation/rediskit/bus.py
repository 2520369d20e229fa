"""Live updates over Redis pub/sub, so any web process can push to any browser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

__all__ = ["RedisLiveBus", "ALL"]

ALL = "gd:live:all"


class RedisLiveBus:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:live:") -> None:
        self._r = client
        self._prefix = prefix

    def _channel(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        data = json.dumps({"conversation_id": conversation_id, **payload}, default=str)
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.publish(self._channel(conversation_id), data)
            pipe.publish(ALL, data)
            await pipe.execute()

    async def subscribe(self, conversation_id: str | None) -> AsyncIterator[dict[str, Any]]:
        """Yield payloads for one conversation, or for all when ``conversation_id`` is None."""
        pubsub = self._r.pubsub()
        await pubsub.subscribe(ALL if conversation_id is None else self._channel(conversation_id))
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield json.loads(item["data"])
        finally:
            await pubsub.aclose()
