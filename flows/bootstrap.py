"""The composition root: the one place that builds concrete adapters from Settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from conversation.blobs import FileBlobStore
from conversation.rediskit import (
    EmbeddedRedis,
    RedisConversationLocks,
    RedisLiveBus,
    RedisRateLimiter,
    RedisTurnQueue,
    connect_redis,
)
from conversation.sql import (
    Database,
    SqlAuditLog,
    SqlFeedback,
    SqlMessageStore,
    SqlOutboxStore,
    SqlPolicyVersions,
    SqlQuarantine,
    SqlTimelineStore,
    SqlUsers,
    upgrade_database,
)
from flows.settings import Settings

__all__ = ["Services", "open_services", "resolve_redis_url", "REDIS_URL_FILE"]

REDIS_URL_FILE = "run/redis.url"
WORKER_BEAT_PREFIX = "gd:worker:beat:"


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    messages: SqlMessageStore
    timeline: SqlTimelineStore
    outbox: SqlOutboxStore
    quarantine: SqlQuarantine
    audit: SqlAuditLog
    blobs: FileBlobStore
    queue: RedisTurnQueue
    locks: RedisConversationLocks
    bus: RedisLiveBus
    limiter: RedisRateLimiter
    policies: SqlPolicyVersions
    feedback: SqlFeedback
    users: SqlUsers
    extras: dict[str, object] = field(default_factory=dict)


def resolve_redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis, or the embedded one: reuse a running one under var/, else start it.

    Returns the URL and the server this caller now owns (None when it owns nothing)."""
    if settings.redis_url:
        return settings.redis_url, None
    url_file = settings.var_dir / REDIS_URL_FILE
    if url_file.exists():
        url = url_file.read_text().strip()
        if _redis_answers(url):
            return url, None
    server = EmbeddedRedis(settings.var_dir / "redis")
    url = server.start()
    url_file.parent.mkdir(parents=True, exist_ok=True)
    url_file.write_text(url)
    return url, server


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


@contextlib.asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    """Build every adapter; close them on exit. Migrations run first unless told otherwise."""
    if migrate:
        await asyncio.to_thread(upgrade_database, settings.sqlalchemy_url)
    redis_url, owned = await asyncio.to_thread(resolve_redis_url, settings)
    db = Database(settings.sqlalchemy_url)
    client = connect_redis(redis_url)
    services: Services | None = None
    try:
        services = Services(
            settings=settings,
            db=db,
            redis=client,
            messages=SqlMessageStore(db),
            timeline=SqlTimelineStore(db),
            outbox=SqlOutboxStore(db),
            quarantine=SqlQuarantine(db),
            audit=SqlAuditLog(db),
            blobs=FileBlobStore(Path(settings.blob_dir)),
            queue=RedisTurnQueue(client, min_idle_ms=settings.turn_min_idle_ms),
            locks=RedisConversationLocks(client),
            bus=RedisLiveBus(client),
            limiter=RedisRateLimiter(client),
            policies=SqlPolicyVersions(db),
            feedback=SqlFeedback(db),
            users=SqlUsers(db),
        )
        yield services
    finally:
        for extra in list(services.extras.values()) if services is not None else []:
            closer = getattr(extra, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # noqa: BLE001 - shutting down: close the rest regardless
                    pass
        if services is not None:
            await services.bus.aclose()
        await client.aclose()
        await db.dispose()
        if owned is not None:
            owned.stop()
