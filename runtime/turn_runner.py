"""Runs batches of turns for the worker, as one Prefect flow run per batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from conversation.ports import Delivery
from flows.turn import TurnFailed, TurnFlow, build_turn_flow
from flows.turn_work import TurnDeps, TurnOutcome
from runtime.compose import build_turn_kit
from services.container import Container

__all__ = ["TurnRunner", "OrchestratorUnavailable", "SharedPrefectClients"]


class OrchestratorUnavailable(Exception):
    """The Prefect API cannot be reached: no turn ran. The worker keeps the batch and tries again in
    seconds, without counting it as a failed delivery."""


def _orchestrator_down(exc: BaseException) -> bool:
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        if type(seen).__name__ in {"PrefectHTTPStatusError"} and "503" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


log = logging.getLogger("glassdesk.turns")
MODEL_CHECK_EVERY_S = 10.0
CLIENTS_RETRY_S = 10.0


class SharedPrefectClients:
    """One pair of Prefect API clients (async, and the sync one Prefect uses to look up the default
    result storage) for every flow run of this worker. Without it each flow run builds both anew, and
    each new client loads the CA bundle into a new SSL context: ~90 ms of CPU per flow run, measured.

    The clients are opened once (``open``; it needs the API, so it is retried while Prefect is down)
    and bound to each flow run's task through Prefect's client context variables (``bound``): every
    ``get_client()`` inside the run then returns them. Concurrent flow runs share them; httpx's pool
    reconnects after a Prefect restart."""

    def __init__(self) -> None:
        self._async: Any = None
        self._sync: Any = None

    @property
    def is_open(self) -> bool:
        return self._async is not None

    async def open(self) -> None:
        from prefect.context import AsyncClientContext, SyncClientContext

        sync_ctx = SyncClientContext()
        await asyncio.to_thread(sync_ctx.client.__enter__)
        try:
            async_ctx = AsyncClientContext()
            await async_ctx.client.__aenter__()
        except BaseException:
            await asyncio.to_thread(sync_ctx.client.__exit__, None, None, None)
            raise
        self._sync, self._async = sync_ctx, async_ctx

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        if self._async is None:
            yield
            return
        from prefect.context import AsyncClientContext, SyncClientContext

        tokens = (AsyncClientContext.__var__.set(self._async), SyncClientContext.__var__.set(self._sync))
        try:
            yield
        finally:
            SyncClientContext.__var__.reset(tokens[1])
            AsyncClientContext.__var__.reset(tokens[0])

    async def aclose(self) -> None:
        async_ctx, sync_ctx, self._async, self._sync = self._async, self._sync, None, None
        if async_ctx is not None:
            await async_ctx.client.__aexit__(None, None, None)
        if sync_ctx is not None:
            await asyncio.to_thread(sync_ctx.client.__exit__, None, None, None)


class TurnRunner:
    def __init__(self, deps: TurnDeps) -> None:
        self.deps = deps
        self._orchestrated = deps.services.settings.turn_orchestration == "prefect"
        self._flow: TurnFlow = build_turn_flow(deps, orchestrated=self._orchestrated)
        self._model_checked_at = time.monotonic()
        self.clients = SharedPrefectClients()
        self._clients_tried_at = -CLIENTS_RETRY_S

    @classmethod
    async def create(cls, services: Container) -> TurnRunner:
        return cls(TurnDeps(services=services, kit=await build_turn_kit(services)))

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> dict[str, BaseException | None]:
        """Run the batch as one flow run. Per entry id: None when the turn finished, else the error."""
        if time.monotonic() - self._model_checked_at >= MODEL_CHECK_EVERY_S:
            self._model_checked_at = time.monotonic()
            if await self.deps.kit.intents.refresh():
                log.info("serving the newly promoted intent model %s", self.deps.kit.intents.current.metadata.model_id)
        ids = [d.ref.message_id for d in deliveries]
        convs = [d.ref.conversation_id for d in deliveries]
        if (
            self._orchestrated
            and not self.clients.is_open
            and time.monotonic() - self._clients_tried_at >= CLIENTS_RETRY_S
        ):
            self._clients_tried_at = time.monotonic()
            try:
                await self.clients.open()
            except Exception as exc:  # noqa: BLE001 - Prefect down: flow runs open their own clients meanwhile
                log.warning(
                    "shared Prefect clients not opened (%s); retrying in %.0f s", type(exc).__name__, CLIENTS_RETRY_S
                )
        try:
            with self.clients.bound():
                outcomes = await self._flow(ids, convs)
        except TurnFailed as exc:
            outcomes = exc.outcomes  # the run ended Failed; the turns that finished are acked
        except Exception as exc:
            if _orchestrator_down(exc):
                raise OrchestratorUnavailable(f"the Prefect API is unreachable ({type(exc).__name__})") from exc
            log.error("flow run for %d turns failed: %s", len(ids), type(exc).__name__)
            return {d.entry_id: exc for d in deliveries}
        results: dict[str, BaseException | None] = {}
        for d in deliveries:
            outcome = outcomes.get(d.ref.message_id, "error:missing")
            if outcome == TurnOutcome.DEFERRED:
                # Another worker holds the conversation: queue the turn again (then this entry is acked),
                # rather than hold a flow-run slot while waiting for the lease.
                try:
                    await self.deps.services.queue.enqueue(d.ref)
                except Exception as exc:  # noqa: BLE001 - not acked: redelivered after turn_min_idle_ms
                    results[d.entry_id] = exc
                    continue
            results[d.entry_id] = RuntimeError(outcome) if outcome.startswith("error:") else None
        return results
