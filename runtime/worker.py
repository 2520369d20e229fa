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
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from conversation.ports import Delivery
from conversation.rediskit import RedisTurnQueue
from runtime.compose import WORKER_BEAT_PREFIX
from services.container import Container
from services.settings import Settings

__all__ = ["TurnWorker", "BatchHandler", "DeadLetterHandler", "worker_for"]

log = logging.getLogger("glassdesk.worker")

# The handler gets a batch and returns, per entry id, None on success or the error.
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[dict[str, BaseException | None]]]
# Called once for every dead-lettered turn, after it is on the dead-letter stream (a person's task).
DeadLetterHandler = Callable[[Delivery, str], Awaitable[None]]


async def _no_dead_letter_handler(delivery: Delivery, reason: str) -> None:
    return None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def _finished(running: set[asyncio.Task[int]], slots: asyncio.Semaphore, task: asyncio.Task[int]) -> None:
    running.discard(task)
    slots.release()


class TurnWorker:
    def __init__(
        self,
        settings: Settings,
        queue: RedisTurnQueue,
        redis: aioredis.Redis,
        handler: BatchHandler,
        *,
        on_dead_letter: DeadLetterHandler = _no_dead_letter_handler,
        name: str | None = None,
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._redis = redis
        self._handler = handler
        self._on_dead_letter = on_dead_letter
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.processed = 0
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Read and run batches until ``stop``. Up to ``turn_parallel_runs`` batches (flow runs) are in
        flight, so new turns do not wait behind a whole batch; the lock keeps one writer per
        conversation. On stop, the batches in flight finish (and are acked) first."""
        self._stop = stop
        beat = asyncio.create_task(self._heartbeat(stop))
        slots = asyncio.Semaphore(max(1, self._settings.turn_parallel_runs))
        running: set[asyncio.Task[int]] = set()
        outage = 0
        try:
            while not stop.is_set():
                await slots.acquire()
                try:
                    live = await self._read(block_ms=1000)
                except (RedisError, OSError) as exc:
                    # Redis is away (restarting, network): wait and read again; redis-py reconnects. The
                    # process stays up, so nothing needs restarting when Redis is back.
                    slots.release()
                    outage = outage + 1
                    delay = min(5.0, 0.25 * 2 ** min(outage, 5))
                    log.warning("turn queue unavailable (%s); retrying in %.1f s", type(exc).__name__, delay)
                    await _sleep_or_stop(stop, delay)
                    continue
                except BaseException:
                    slots.release()
                    raise
                outage = 0
                if not live:
                    slots.release()
                    continue
                task = asyncio.create_task(self._process(live))
                running.add(task)
                task.add_done_callback(lambda t: _finished(running, slots, t))
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            beat.cancel()
            try:
                await self._redis.delete(WORKER_BEAT_PREFIX + self.name)
            except (RedisError, OSError):
                pass  # the beat expires by itself

    async def run_once(self, *, block_ms: int = 0) -> int:
        """Read one batch and run it to the end (tests and tools)."""
        live = await self._read(block_ms=block_ms)
        return await self._process(live) if live else 0

    async def _read(self, *, block_ms: int) -> list[Delivery]:
        settings = self._settings
        batch = await self._queue.read(self.name, count=settings.turn_batch_max, block_ms=block_ms)
        live: list[Delivery] = []
        for delivery in batch:
            if delivery.deliveries > settings.turn_max_deliveries:
                log.error("turn %s dead-lettered after %d deliveries", delivery.ref.message_id, delivery.deliveries)
                reason = f"the turn failed {delivery.deliveries - 1} times"
                await self._queue.dead_letter(delivery, reason=reason)
                try:
                    await self._on_dead_letter(delivery, reason)
                except Exception as exc:  # noqa: BLE001 - the dead-letter entry stays for ops and the reconciler
                    log.error("turn %s: dead-letter follow-up failed: %s", delivery.ref.message_id, type(exc).__name__)
            else:
                live.append(delivery)
        return live

    async def _process(self, live: list[Delivery]) -> int:
        keepalive = asyncio.create_task(self._touch(live))
        try:
            results = await self._run_until_orchestrated(live)
        except Exception as exc:  # noqa: BLE001 - unacked entries are redelivered after turn_min_idle_ms
            log.error("batch of %d turns failed: %s", len(live), type(exc).__name__)
            return 0
        finally:
            keepalive.cancel()
        for delivery in live:
            error = results.get(delivery.entry_id)
            if error is None:
                await self._queue.ack(delivery.entry_id)
                self.processed += 1
            else:
                log.warning(
                    "turn %s failed (delivery %d): %s",
                    delivery.ref.message_id,
                    delivery.deliveries,
                    type(error).__name__,
                )
        return len(live)

    async def _run_until_orchestrated(self, live: list[Delivery]) -> dict[str, BaseException | None]:
        """Run the batch; while the orchestrator is unreachable, keep the batch (extended, not redelivered)
        and try again within seconds, so turns resume right after it returns."""
        from runtime.turn_runner import OrchestratorUnavailable

        delay = 0.5
        while True:
            try:
                return await self._handler(live)
            except OrchestratorUnavailable as exc:
                if self._stop.is_set():  # shutting down: leave the batch to the next worker
                    return {d.entry_id: exc for d in live}
                log.warning("%s; retrying %d turns in %.1f s", exc, len(live), delay)
                await _sleep_or_stop(self._stop, delay)
                delay = min(5.0, delay * 2)

    async def _touch(self, live: list[Delivery]) -> None:
        """While a batch runs, keep its entries from looking idle: only a dead worker's entries are
        reclaimed after ``turn_min_idle_ms``, so that can be short."""
        ids = [d.entry_id for d in live]
        while True:
            await asyncio.sleep(max(1.0, self._settings.turn_min_idle_ms / 4000))
            try:
                await self._queue.touch(self.name, ids)
            except (RedisError, OSError) as exc:
                log.warning("could not extend %d in-flight turns (%s)", len(ids), type(exc).__name__)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._redis.set(WORKER_BEAT_PREFIX + self.name, "1", ex=15)
            except (RedisError, OSError) as exc:
                log.warning("worker heartbeat not written (%s)", type(exc).__name__)
            await _sleep_or_stop(stop, 5)


def _with_prefect_login(settings: Settings, handler: BatchHandler) -> BatchHandler:
    """Run each batch's flow against the configured Prefect server with its login: what the process
    environment does not set (``PREFECT_API_URL``, ``PREFECT_API_AUTH_STRING``, as `glassdesk run` sets
    them) comes from ``Settings.prefect_api_url`` and ``Settings.prefect_auth_string()``, so a standalone
    `glassdesk worker` reaches a server that asks for a login."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, get_current_settings, temporary_settings

    current = get_current_settings().api
    need_url, need_auth = current.url is None, current.auth_string is None
    if not (need_url or need_auth):
        return handler
    auth: list[str] = []  # read once, off the event loop (the generated key is a file under var/)

    async def handle(deliveries: Sequence[Delivery]) -> dict[str, BaseException | None]:
        if need_auth and not auth:
            auth.append(await asyncio.to_thread(settings.prefect_auth_string))
        updates: dict[Any, Any] = {PREFECT_API_URL: settings.prefect_api_url} if need_url else {}
        if need_auth:
            updates[PREFECT_API_AUTH_STRING] = auth[0]
        with temporary_settings(updates=updates):
            return await handler(deliveries)

    return handle


def worker_for(services: Container, handler: BatchHandler, *, name: str | None = None) -> TurnWorker:
    """The worker of a process: a dead-lettered turn goes to a person (attention queue, acknowledgement);
    its flow runs go to the configured Prefect server, with its login (``_with_prefect_login``)."""
    from services.escalation import escalate_failed_turn

    async def to_person(delivery: Delivery, reason: str) -> None:
        await escalate_failed_turn(
            services, message_id=delivery.ref.message_id, conversation_id=delivery.ref.conversation_id, reason=reason
        )

    return TurnWorker(
        services.settings,
        services.queue,
        services.redis,
        _with_prefect_login(services.settings, handler),
        on_dead_letter=to_person,
        name=name,
    )
