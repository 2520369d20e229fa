"""Fixed-window rate-limit counters in Redis (INCR + EXPIRE in one round trip)."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

__all__ = ["RedisRateLimiter"]


class RedisRateLimiter:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:rl:") -> None:
        self._r = client
        self._prefix = prefix

    async def allow(self, key: str, *, limit: int, window_s: int) -> bool:
        window = int(time.time() // window_s)
        name = f"{self._prefix}{key}:{window}"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s + 1)
            count, _ = await pipe.execute()
        return int(count) <= limit
