"""Scanners that look for strings in every store, independently of the code under test: SQLite through
``sqlite3`` (every column of every table, and the raw file), Redis through SCAN/TYPE/XRANGE/XPENDING,
and files byte by byte. Matching is case-insensitive."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

__all__ = ["scan_sqlite", "scan_redis", "scan_files", "hits_of"]


def hits_of(text: str | bytes, needles: dict[str, str]) -> set[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    low = text.lower()
    return {name for name, needle in needles.items() if needle.lower() in low}


def scan_sqlite(path: Path, needles: dict[str, str], *, skip_tables: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(table, column, needle name) for every value that contains a needle."""
    skip = set(skip_tables)
    found: list[tuple[str, str, str]] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if table in skip:
                continue
            cur = con.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    for name in hits_of(value if isinstance(value, bytes) else str(value), needles):
                        found.append((table, column, name))
    finally:
        con.close()
    return found


async def scan_redis(client: aioredis.Redis, needles: dict[str, str]) -> list[tuple[str, str]]:
    """(key, needle name) for every key name, value, member, stream entry and pending entry."""
    found: list[tuple[str, str]] = []

    def check(key: str, text: Any) -> None:
        for name in hits_of(str(text), needles):
            found.append((key, name))

    async for key in client.scan_iter(count=500):
        check(key, key)
        kind = await client.type(key)
        if kind == "string":
            check(key, await client.get(key))
        elif kind == "hash":
            check(key, await client.hgetall(key))
        elif kind == "set":
            check(key, await client.smembers(key))
        elif kind == "zset":
            check(key, await client.zrange(key, 0, -1))
        elif kind == "list":
            check(key, await client.lrange(key, 0, -1))
        elif kind == "stream":
            check(key, await client.xrange(key))
            for group in await client.xinfo_groups(key):
                pending = await client.xpending_range(key, group["name"], min="-", max="+", count=10_000)
                for p in pending:
                    check(key, await client.xrange(key, min=p["message_id"], max=p["message_id"]))
                check(key, await client.xinfo_consumers(key, group["name"]))
    return found


def scan_files(root: Path, needles: dict[str, str], *, skip: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """(relative path, needle name) for every file whose name or bytes contain a needle."""
    skipped = {p.resolve() for p in skip}
    found: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.resolve() in skipped:
            continue
        rel = str(path.relative_to(root))
        for name in hits_of(rel, needles) | hits_of(path.read_bytes(), needles):
            found.append((rel, name))
    return found
