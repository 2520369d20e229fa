"""Sliding-window rate limits in Redis: every attempt is a timestamp in a sorted set; an attempt is
allowed while fewer than ``limit`` attempts fall in the last ``window_s`` seconds.

A fixed window (INCR per clock window) let twice the limit through around a window boundary and
reset a lockout on the minute; the sliding window does neither. Denied attempts count too, so a
caller who keeps hammering stays limited."""

from __future__ import annotations

import secrets
import time

import redis.asyncio as aioredis

__all__ = ["RedisRateLimiter"]


class RedisRateLimiter:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:rl:") -> None:
        self._r = client
        self._prefix = prefix

    async def allow(self, key: str, *, limit: int, window_s: int) -> bool:
        now = time.time()
        name = f"{self._prefix}{key}"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window_s)
            pipe.zadd(name, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.zcard(name)
            pipe.expire(name, int(window_s) + 1)
            _, _, count, _ = await pipe.execute()
        return int(count) <= limit
