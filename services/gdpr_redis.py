"""Redis and data protection: the declared key classes (what each holds, how long), the erasure
sweep (every key, member, stream entry and pending entry that names a subject) and retention trims.

Every key Glassdesk writes is listed in :data:`REDIS_KEYS`. Keys without a TTL are allowed only where
the class says so (``ttl_s is None``) and says how they are bounded instead;
``tests/integration/gdpr/test_retention.py`` scans a Redis after a realistic run and fails on any key
that is not declared, or has no TTL where its class promises one."""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from services.gdpr_subject import Matcher

__all__ = [
    "RedisKeyClass",
    "REDIS_KEYS",
    "key_class",
    "scrub_redis",
    "trim_streams",
    "drop_orphan_fences",
    "rewrite_persistence",
    "TURN_STREAMS",
]

TURN_STREAMS = ("gd:turns", "gd:turns:dead")
_SCAN = 500
_STREAM_PAGE = 500
_MAX_VALUE = 1_000_000  # bytes of a string value read to look for a subject; larger ones are not ours


@dataclass(frozen=True, slots=True)
class RedisKeyClass:
    pattern: str  # fnmatch pattern of the key name
    holds: str
    ttl_s: int | None  # the longest TTL with default settings; None: no TTL, ``bounded_by`` says what removes it
    bounded_by: str = ""


REDIS_KEYS: tuple[RedisKeyClass, ...] = (
    RedisKeyClass(
        "gd:turns",
        "turn queue entries: message and conversation ids",
        None,
        "MAXLEN 1,000,000; trimmed after retention_queue_days by the retention flow; erasure deletes "
        "a subject's entries",
    ),
    RedisKeyClass(
        "gd:turns:dead",
        "dead-lettered turns: ids, delivery count, error class",
        None,
        "trimmed after retention_queue_days by the retention flow; erasure deletes a subject's entries",
    ),
    RedisKeyClass(
        "gd:lock:conv:*:fence",
        "fencing counter of a conversation lease (the key names the conversation)",
        None,
        "conversation/rediskit/locks.py sets no TTL (reported); the retention flow deletes the "
        "counters of conversations that no longer exist, erasure those of the subject",
    ),
    RedisKeyClass(
        "gd:lock:conv:*",
        "conversation lease (holder token); also the retrain flow's lock",
        1800,
        "lease, renewed while its holder runs",
    ),
    RedisKeyClass("gd:enqueued:*", "marker: this message's turn is queued (id only)", 7 * 24 * 3600),
    RedisKeyClass(
        "gd:requeued:*", "marker: the reconciler queued this message again (id only)", 120, "reconcile_turn_age_s"
    ),
    RedisKeyClass("gd:otp:*", "identity verification: HMAC of the code, address kind and address", 600),
    RedisKeyClass(
        "gd:rl:*",
        "rate-limit windows (login name, client address, chat session, conversation, HMAC of an address)",
        3601,
    ),
    RedisKeyClass("gd:staff:*", "staff session: user id and CSRF token", 12 * 3600),
    RedisKeyClass("gd:desk:reply:*", "an agent reply's idempotency key (conversation id)", 24 * 3600),
    RedisKeyClass("gd:worker:beat:*", "worker heartbeat", 15),
)


def key_class(key: str) -> RedisKeyClass | None:
    """The declared class of ``key`` (first match wins: the fence pattern precedes the lease)."""
    return next((c for c in REDIS_KEYS if fnmatch.fnmatchcase(key, c.pattern)), None)


async def scrub_redis(client: aioredis.Redis, matcher: Matcher, *, dry_run: bool = False) -> dict[str, int]:
    """Delete every key whose name or value names the subject; remove matching members of sets,
    sorted sets and lists; XACK and XDEL matching stream entries (pending ones included)."""
    counts = {"keys": 0, "members": 0, "stream_entries": 0, "pending_acked": 0}
    if not matcher:
        return counts
    async for key in client.scan_iter(count=_SCAN):
        name = str(key)
        if matcher.search(name):
            counts["keys"] += 1
            if not dry_run:
                await client.delete(name)
            continue
        kind = str(await client.type(name))
        if kind == "stream":
            entries, acked = await _scrub_stream(client, name, matcher, dry_run=dry_run)
            counts["stream_entries"] += entries
            counts["pending_acked"] += acked
        elif kind in {"string", "hash"}:
            if await _value_matches(client, name, kind, matcher):
                counts["keys"] += 1
                if not dry_run:
                    await client.delete(name)
        elif kind in {"set", "zset", "list"}:
            counts["members"] += await _scrub_members(client, name, kind, matcher, dry_run=dry_run)
    return counts


async def _value_matches(client: aioredis.Redis, name: str, kind: str, matcher: Matcher) -> bool:
    if kind == "string":
        if int(await client.strlen(name)) > _MAX_VALUE:
            return False
        return matcher.search(cast(str | None, await client.get(name)))
    fields = cast(dict[str, str], await client.hgetall(name))
    return any(matcher.search(k) or matcher.search(v) for k, v in fields.items())


async def _scrub_members(client: aioredis.Redis, name: str, kind: str, matcher: Matcher, *, dry_run: bool) -> int:
    if kind == "set":
        members = [m for m in cast(set[str], await client.smembers(name)) if matcher.search(m)]
        if members and not dry_run:
            await client.srem(name, *members)
    elif kind == "zset":
        members = [m for m in cast(list[str], await client.zrange(name, 0, -1)) if matcher.search(m)]
        if members and not dry_run:
            await client.zrem(name, *members)
    else:
        members = [m for m in cast(list[str], await client.lrange(name, 0, -1)) if matcher.search(m)]
        if not dry_run:
            for m in set(members):
                await client.lrem(name, 0, m)
    return len(members)


async def _scrub_stream(client: aioredis.Redis, name: str, matcher: Matcher, *, dry_run: bool) -> tuple[int, int]:
    doomed: list[str] = []
    start = "-"
    while True:
        page = cast(list[tuple[str, dict[str, str]]], await client.xrange(name, min=start, max="+", count=_STREAM_PAGE))
        for entry_id, fields in page:
            if any(matcher.search(k) or matcher.search(v) for k, v in (fields or {}).items()):
                doomed.append(entry_id)
        if len(page) < _STREAM_PAGE:
            break
        start = "(" + page[-1][0]
    if not doomed or dry_run:
        return len(doomed), 0
    acked = 0
    for group in await client.xinfo_groups(name):
        acked += int(await client.xack(name, str(group["name"]), *doomed))
    await client.xdel(name, *doomed)
    return len(doomed), acked


async def trim_streams(client: aioredis.Redis, *, before_ms: int, dry_run: bool) -> int:
    """Entries of the turn streams older than ``before_ms`` (stream ids are millisecond timestamps)."""
    total = 0
    for name in TURN_STREAMS:
        if not await client.exists(name):
            continue
        if dry_run:
            older = await client.xrange(name, min="-", max=f"{before_ms - 1}-18446744073709551615")
            total += len(cast(list[Any], older))
        else:
            total += int(await client.xtrim(name, minid=str(before_ms), approximate=False))
    return total


async def drop_orphan_fences(client: aioredis.Redis, *, live_conversations: frozenset[str], dry_run: bool) -> int:
    """Fencing counters of conversations that no longer exist (locks.py gives them no TTL)."""
    gone = 0
    async for key in client.scan_iter(match="gd:lock:conv:cv_*:fence", count=_SCAN):
        conversation_id = str(key)[len("gd:lock:conv:") : -len(":fence")]
        if conversation_id in live_conversations or await client.exists(f"gd:lock:conv:{conversation_id}"):
            continue
        gone += 1
        if not dry_run:
            await client.delete(str(key))
    return gone


async def rewrite_persistence(client: aioredis.Redis, *, wait_s: float = 30.0) -> bool:
    """Compact the AOF (or write a new RDB snapshot) so deleted data leaves the disk too. False when
    Redis refused (no permission, persistence off) or did not finish within ``wait_s``."""
    try:
        info = await client.info("persistence")
        if int(info.get("aof_enabled", 0)):
            await client.bgrewriteaof()
            flag = "aof_rewrite_in_progress"
        elif int(info.get("rdb_last_save_time", 0)) and info.get("rdb_changes_since_last_save") is not None:
            await client.bgsave()
            flag = "rdb_bgsave_in_progress"
        else:
            return False
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            state = await client.info("persistence")
            if not int(state.get(flag, 0)) and not int(state.get("aof_rewrite_scheduled", 0)):
                return True
        return False
    except Exception:  # noqa: BLE001 - best effort: a managed Redis may refuse the command
        return False
