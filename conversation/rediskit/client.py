"""Build the async Redis client from a URL (``redis://``, ``rediss://`` or ``unix://``)."""

from __future__ import annotations

import redis.asyncio as aioredis

__all__ = ["connect_redis", "mask_url"]


def connect_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


def mask_url(url: str) -> str:
    """Hide a password in a Redis/DB URL for logs and `glassdesk config`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
