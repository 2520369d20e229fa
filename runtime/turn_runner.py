"""Runs batches of turns for the worker: inside a long-lived Prefect flow run (the default, see
:mod:`flows.turn_session`), as one flow run per batch, or plainly without Prefect (the bench's baseline)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any
from uuid import UUID

from conversation.ports import Delivery
from flows.turn import TURN_FLOW_NAME, TurnFailed, TurnFlow, build_turn_batch, build_turn_flow
from flows.turn_session import SessionNotStarted, TurnSession
from flows.turn_work import TurnDeps, TurnOutcome
from runtime.compose import build_turn_kit
from runtime.prefect_logs import keep_plain_log_output
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
SESSION_MAX_AGE_S = 300.0  # a session flow run is rotated after 5 minutes ...
SESSION_MAX_TURNS = 1000  # ... or this many turns, so one run's page stays readable
SESSION_RETRY_S = 5.0  # opening the next session failed: keep the current one, try again after this


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
    """Runs the worker's batches. Modes (``Settings.turn_orchestration``):

    - ``prefect``: batches run inside a long-lived ``turns`` flow run (:class:`TurnSession`); the next
      session is opened while the current one still serves, so no turn waits for a flow run to start;
    - ``prefect-per-batch``: one flow run per batch (the earlier design, kept to compare in the bench);
    - ``plain``: the same steps without Prefect (the bench's baseline)."""

    def __init__(self, deps: TurnDeps, *, worker: str | None = None) -> None:
        self.deps = deps
        mode = deps.services.settings.turn_orchestration
        self._orchestrated = mode != "plain"
        if self._orchestrated:
            keep_plain_log_output()
        self._per_batch = mode == "prefect-per-batch"
        self._flow: TurnFlow = build_turn_flow(deps, orchestrated=self._orchestrated)
        self._batch = build_turn_batch(deps, orchestrated=self._orchestrated)
        self._worker = worker or f"{socket.gethostname()}-{os.getpid()}"
        self._model_checked_at = time.monotonic()
        self.clients = SharedPrefectClients()
        self._clients_tried_at = -CLIENTS_RETRY_S
        self._session: TurnSession | None = None
        self._opening = asyncio.Lock()
        self._rotation: asyncio.Task[None] | None = None
        self._rotation_tried_at = -SESSION_RETRY_S
        self._closing: set[asyncio.Task[None]] = set()
        self.session_max_age_s = SESSION_MAX_AGE_S
        self.session_max_turns = SESSION_MAX_TURNS
        self.lost_after_s: float | None = None  # None: a session's life plus twice the turn time limit plus 1 min

    @classmethod
    async def create(cls, services: Container) -> TurnRunner:
        return cls(TurnDeps(services=services, kit=await build_turn_kit(services)))

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> dict[str, BaseException | None]:
        """Run the batch. Per entry id: None when the turn finished, else the error."""
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
                if not self._orchestrated:
                    outcomes = await self._batch(ids, convs)
                elif self._per_batch:
                    outcomes = await self._flow(ids, convs)
                else:
                    session = await self._live_session()
                    outcomes = await session.run(ids, convs)
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

    async def _live_session(self) -> TurnSession:
        """The open session; when it is due, the next one opens in the background while it serves.
        With none open (first batch, or the last one ended), this batch waits for one to open."""
        current = self._session
        if current is not None and current.is_live:
            if (
                current.is_due
                and self._rotation is None
                and time.monotonic() - self._rotation_tried_at >= SESSION_RETRY_S
            ):
                self._rotation_tried_at = time.monotonic()
                self._rotation = asyncio.create_task(self._rotate())
            return current
        async with self._opening:
            current = self._session
            if current is not None and current.is_live:
                return current
            fresh = self._new_session()
            await fresh.open()  # SessionNotStarted when Prefect does not answer: the caller keeps the batch
            self._session = fresh
            if current is not None:
                self._retire(current)
            self._background(self._mark_lost_sessions())
            return fresh

    def _new_session(self) -> TurnSession:
        return TurnSession(
            self._batch, worker=self._worker, max_turns=self.session_max_turns, max_age_s=self.session_max_age_s
        )

    async def _rotate(self) -> None:
        try:
            async with self._opening:
                fresh = self._new_session()
                try:
                    await fresh.open()
                except SessionNotStarted as exc:
                    log.warning("next turn session not opened (%s); the current one keeps serving", exc)
                    return
                old, self._session = self._session, fresh
                if old is not None:
                    self._retire(old)
            await self._mark_lost_sessions()
        finally:
            self._rotation = None

    def _retire(self, session: TurnSession) -> None:
        self._background(session.close())

    def _background(self, job: Coroutine[Any, Any, None]) -> None:
        running = asyncio.create_task(job)
        self._closing.add(running)
        running.add_done_callback(self._closing.discard)

    async def _mark_lost_sessions(self) -> None:
        """A worker killed mid-session leaves its flow run Running forever. Sessions are rotated every
        ``session_max_age_s`` and finish their last turns within the turn time limit, so a ``turns``
        run still Running long after that belongs to a dead worker: mark it Crashed (best effort)."""
        from prefect import get_client
        from prefect.client.schemas.filters import (
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterId,
            FlowRunFilterStartTime,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.states import Crashed

        lost_after_s = self.lost_after_s
        if lost_after_s is None:
            lost_after_s = self.session_max_age_s + 2 * self.deps.services.settings.turn_timeout_s + 60
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lost_after_s)
        own = [s.flow_run_id for s in (self._session,) if s is not None and s.flow_run_id]
        try:
            async with get_client() as client:
                lost = await client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=[TURN_FLOW_NAME])),
                    flow_run_filter=FlowRunFilter(
                        id=FlowRunFilterId(not_any_=[UUID(i) for i in own]) if own else None,
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                        start_time=FlowRunFilterStartTime(before_=cutoff),
                    ),
                    limit=50,
                )
                for run in lost:
                    await client.set_flow_run_state(
                        run.id, Crashed(message="its worker stopped without ending it (killed or lost)"), force=True
                    )
                    log.warning("turn flow run %s: its worker is gone; marked Crashed", run.id)
        except Exception as exc:  # noqa: BLE001 - only ops' view is affected
            log.warning("stale turn flow runs not checked: %s", type(exc).__name__)

    async def settle(self) -> None:
        """Wait until the next session (if one is opening) serves and retired ones have ended."""
        if self._rotation is not None:
            await asyncio.gather(self._rotation, return_exceptions=True)
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def aclose(self) -> None:
        """End the open session (its batches finish first) and release the shared clients."""
        await self.settle()
        session, self._session = self._session, None
        with self.clients.bound():
            if session is not None:
                await session.close()
        await self.settle()
        await self.clients.aclose()
