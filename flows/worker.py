"""The turn worker loop: consume the inbound stream, hand batches to the turn runner, ack after.

At-least-once: an entry is acked only after its turn finished (reply sent or handed off). A worker
that dies leaves its entries pending; another worker reclaims them after ``turn_min_idle_ms``. An
entry delivered more than ``turn_max_deliveries`` times goes to the dead-letter stream."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence

from conversation.ports import Delivery
from flows.bootstrap import WORKER_BEAT_PREFIX, Services

__all__ = ["TurnWorker", "BatchHandler"]

log = logging.getLogger("glassdesk.worker")

# The handler gets a batch and returns, per entry id, None on success or the error.
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[dict[str, BaseException | None]]]


class TurnWorker:
    def __init__(self, services: Services, handler: BatchHandler, *, name: str | None = None) -> None:
        self._s = services
        self._handler = handler
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.processed = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Read and run batches until ``stop``. Up to ``turn_parallel_runs`` batches (flow runs) are in
        flight, so new turns do not wait behind a whole batch; the lock keeps one writer per
        conversation. On stop, the batches in flight finish (and are acked) first."""
        beat = asyncio.create_task(self._heartbeat(stop))
        slots = asyncio.Semaphore(max(1, self._s.settings.turn_parallel_runs))
        running: set[asyncio.Task[int]] = set()
        try:
            while not stop.is_set():
                await slots.acquire()
                try:
                    live = await self._read(block_ms=1000)
                except BaseException:
                    slots.release()
                    raise
                if not live:
                    slots.release()
                    continue
                task = asyncio.create_task(self._process(live))
                running.add(task)
                task.add_done_callback(lambda t: (running.discard(t), slots.release()))
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            beat.cancel()
            await self._s.redis.delete(WORKER_BEAT_PREFIX + self.name)

    async def run_once(self, *, block_ms: int = 0) -> int:
        """Read one batch and run it to the end (tests and tools)."""
        live = await self._read(block_ms=block_ms)
        return await self._process(live) if live else 0

    async def _read(self, *, block_ms: int) -> list[Delivery]:
        settings = self._s.settings
        batch = await self._s.queue.read(self.name, count=settings.turn_batch_max, block_ms=block_ms)
        live = []
        for delivery in batch:
            if delivery.deliveries > settings.turn_max_deliveries:
                log.error("turn %s dead-lettered after %d deliveries", delivery.ref.message_id, delivery.deliveries)
                await self._s.queue.dead_letter(delivery, reason=f"failed {delivery.deliveries - 1} times")
            else:
                live.append(delivery)
        return live

    async def _process(self, live: list[Delivery]) -> int:
        try:
            results = await self._handler(live)
        except Exception as exc:  # noqa: BLE001 - unacked entries are redelivered after turn_min_idle_ms
            log.error("batch of %d turns failed: %s", len(live), type(exc).__name__)
            return 0
        for delivery in live:
            error = results.get(delivery.entry_id)
            if error is None:
                await self._s.queue.ack(delivery.entry_id)
                self.processed += 1
            else:
                log.warning("turn %s failed (delivery %d): %s", delivery.ref.message_id, delivery.deliveries,
                            type(error).__name__)
        return len(live)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._s.redis.set(WORKER_BEAT_PREFIX + self.name, "1", ex=15)
            await asyncio.sleep(5)
