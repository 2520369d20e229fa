"""The async engine for the system of record: SQLite (embedded default) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["Database", "sqlite_url"]

_SQLITE_BUSY_S = 30  # how long a writer waits for SQLite's one write lock (in-process gate, then busy timeout)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class Database:
    """Owns one async engine. Write transactions on SQLite start with BEGIN IMMEDIATE so concurrent
    writers queue on the busy timeout instead of failing with 'database is locked' on upgrade.

    SQLite has one writer. Within a process, write transactions also queue on an asyncio lock (FIFO)
    before they take a connection: a waiting writer starts the moment the lock is free instead of
    sleeping in SQLite's busy handler (1, 2, 5, ... 100 ms steps), which was what made p99 latency
    reach seconds under load. Other processes on the same file still meet on the busy timeout.

    Durability: WAL with ``synchronous=NORMAL``. A commit survives a crash of the application (the
    WAL is in the OS page cache), but the last transactions before a power loss or kernel crash can
    be lost, because the WAL is synced at checkpoints, not at every commit. ``FULL`` would fsync each
    commit (one fsync per accepted webhook). Deployments that need every acknowledged message to
    survive power loss run PostgreSQL (synchronous_commit=on by default)."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            db_path = parsed.database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                url, echo=echo, connect_args={"timeout": _SQLITE_BUSY_S}, pool_size=pool_size, max_overflow=0
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
        self._write_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; commits on success, rolls back on error. Do not nest: on SQLite the
        inner one would wait for the outer one (and give up after the busy timeout)."""
        if not self.is_sqlite:
            async with self.engine.begin() as conn:
                yield conn
            return
        gate = self._write_gate()
        try:
            async with asyncio.timeout(_SQLITE_BUSY_S):
                await gate.acquire()
        except TimeoutError as exc:
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                Exception(f"database is locked: no write slot in {_SQLITE_BUSY_S} s (a nested write transaction?)"),
            ) from exc
        try:
            async with self.engine.begin() as conn:
                yield conn
        finally:
            gate.release()

    def _write_gate(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        gate = self._write_gates.get(loop)
        if gate is None:
            gate = self._write_gates[loop] = asyncio.Lock()
        return gate

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(gd_read=True)
            yield conn

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_S * 1000}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers take a plain (deferred) snapshot in WAL mode; writers reserve the lock up front.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("gd_read") else "BEGIN IMMEDIATE")
