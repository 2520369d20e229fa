"""One writer per conversation: a lease in Redis, renewed by a heartbeat while the turn runs.

- A holder that dies stops renewing, so its lease frees within ``lease_s`` (15 s by default).
- Every acquisition gets a fencing token (a per-conversation counter). :meth:`Lease.ensure` checks
  that the lease is still ours; a holder whose lease lapsed (paused, partitioned) gets ``LockLost``
  before its next write instead of writing beside the new holder.
- Waiting is short: a conversation that is busy raises ``LockNotAcquired`` quickly, so the caller can
  re-queue the turn instead of blocking a flow-run slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from conversation.errors import LockLost, LockNotAcquired

__all__ = ["RedisConversationLocks", "Lease"]

log = logging.getLogger("glassdesk.locks")


class Lease:
    """A held conversation lease and its fencing token."""

    def __init__(self, conversation_id: str, token: int) -> None:
        self.conversation_id = conversation_id
        self.token = token
        self.lost = False

    def ensure(self) -> None:
        """Raise ``LockLost`` once the lease could not be renewed: stop before writing anything more."""
        if self.lost:
            raise LockLost(f"the lease on conversation {self.conversation_id} (token {self.token}) lapsed")


class RedisConversationLocks:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "gd:lock:conv:", lease_s: float = 15.0) -> None:
        self._r = client
        self._prefix = prefix
        self.lease_s = lease_s

    @asynccontextmanager
    async def hold(
        self, conversation_id: str, *, timeout_s: float | None = None, wait_s: float = 2.0
    ) -> AsyncIterator[Lease]:
        """Hold the conversation's lease. ``timeout_s`` is the lease length (default ``lease_s``); it is
        renewed every third of it while the block runs."""
        lease_s = timeout_s if timeout_s is not None else self.lease_s
        lock = self._r.lock(self._prefix + conversation_id, timeout=lease_s, blocking_timeout=wait_s)
        if not await lock.acquire():
            raise LockNotAcquired(f"conversation {conversation_id} is held by another worker")
        token = int(await self._r.incr(self._prefix + conversation_id + ":fence"))
        lease = Lease(conversation_id, token)
        beat = asyncio.create_task(self._renew(lock, lease, lease_s), name=f"lease-{conversation_id}")
        try:
            yield lease
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            try:
                await lock.release()
            except (LockError, RedisError):
                pass  # expired while held (the next holder owns it), or Redis is away: it expires by itself

    async def _renew(self, lock: aioredis.lock.Lock, lease: Lease, lease_s: float) -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                await lock.reacquire()
            except (LockError, RedisError, OSError) as exc:
                lease.lost = True
                log.warning("lease on conversation %s lost (%s)", lease.conversation_id, type(exc).__name__)
                return
