"""One writer per conversation, through redis-py's lock (token-checked release, expiry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import LockError

from conversation.errors import LockNotAcquired

__all__ = ["RedisConversationLocks"]


class RedisConversationLocks:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:lock:conv:") -> None:
        self._r = client
        self._prefix = prefix

    @asynccontextmanager
    async def hold(self, conversation_id: str, *, timeout_s: float = 120.0, wait_s: float = 10.0) -> AsyncIterator[None]:
        lock = self._r.lock(self._prefix + conversation_id, timeout=timeout_s, blocking_timeout=wait_s)
        if not await lock.acquire():
            raise LockNotAcquired(f"conversation {conversation_id} is held by another worker")
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                pass  # expired while held; the next holder already owns it
