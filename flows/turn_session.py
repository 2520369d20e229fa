"""A flow run that stays open across a burst of turns: the worker's batches run inside it.

Opening a flow run costs a few API round trips and states (~260 ms measured, see
``bench/prefect_overhead.py``); a task run costs none, because Prefect 3 reports task runs as events.
So a worker keeps one ``turns`` flow run open and sends every batch into it: each turn is a task run
``turn[message_id]`` with its steps nested under it, and its logs go to that task run. The session
ends after ``max_turns`` turns or ``max_age_s`` (the worker then opens the next one first, so no turn
waits for it) and on shutdown. It ends Failed, naming the turns, when any turn in it failed; each
failed turn's own task run is Failed as well.

Flow parameters are the worker's name only, never message content."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import flow
from prefect.context import FlowRunContext
from prefect.runtime import flow_run

from flows.turn import TURN_FLOW_NAME, TurnBatch, TurnFailed

__all__ = ["TurnSession", "SessionNotStarted"]

log = logging.getLogger("glassdesk.turns")


class SessionNotStarted(Exception):
    """The session's flow run could not be created (the Prefect API did not answer); ``__cause__``
    says why. No turn ran."""


@dataclass
class _Batch:
    message_ids: list[str]
    conversation_ids: list[str]
    done: asyncio.Future[dict[str, str]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class TurnSession:
    """One open ``turns`` flow run. ``open()`` starts it, ``run()`` sends a batch into it and returns
    every turn's outcome (``error:<Type>`` for a turn that raised), ``close()`` lets the batches in
    flight finish and ends the flow run."""

    def __init__(self, run_batch: TurnBatch, *, worker: str, max_turns: int, max_age_s: float) -> None:
        self._run_batch = run_batch
        self._worker = worker
        self._max_turns = max_turns
        self._max_age_s = max_age_s
        self._inbox: asyncio.Queue[_Batch | None] = asyncio.Queue()
        self._started: asyncio.Future[str] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._closing = False
        self.turns = 0
        self.failed: list[str] = []
        self.opened_at = time.monotonic()
        self.flow_run_id: str | None = None

    @property
    def is_live(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closing

    @property
    def is_due(self) -> bool:
        """Old or full enough that the worker should open the next session."""
        return self.turns >= self._max_turns or time.monotonic() - self.opened_at >= self._max_age_s

    async def open(self) -> None:
        """Start the flow run; returns once its body runs. Raises ``SessionNotStarted`` when Prefect
        refused or could not be reached."""
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        stamp = time.strftime("%H%M%S", time.gmtime())

        async def turn_session(worker: str) -> dict[str, int]:
            return await self._body(worker)

        session_flow = flow(
            name=TURN_FLOW_NAME,
            flow_run_name=f"turns {self._worker} {stamp}",
            persist_result=False,
            log_prints=False,
            validate_parameters=False,
        )(turn_session)
        self._task = asyncio.create_task(session_flow(self._worker), name=f"turn-session-{stamp}")
        await asyncio.wait({self._started, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not self._started.done():
            exc = self._task.exception() if not self._task.cancelled() else None
            raise SessionNotStarted(f"the turns flow run did not start ({type(exc).__name__})") from exc
        self.opened_at = time.monotonic()

    async def run(self, message_ids: list[str], conversation_ids: list[str]) -> dict[str, str]:
        if not self.is_live:
            raise RuntimeError("the session is not open")
        assert self._task is not None
        batch = _Batch(message_ids, conversation_ids)
        self.turns += len(message_ids)
        self._inbox.put_nowait(batch)
        # never wait on a run that ended without taking the batch (its entries are then redelivered)
        await asyncio.wait({batch.done, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not batch.done.done():
            raise RuntimeError("the turns flow run ended before it ran the batch")
        return batch.done.result()

    async def close(self) -> None:
        """Let the batches in flight finish, then end the flow run (Completed, or Failed naming the
        turns that failed). Errors ending the run are logged: the turns themselves are done."""
        if self._task is None:
            return
        if not self._closing:
            self._closing = True
            self._inbox.put_nowait(None)
        try:
            await self._task
        except TurnFailed:
            pass  # the flow run ended Failed on purpose; the turns' outcomes went to their batches
        except Exception as exc:  # noqa: BLE001 - e.g. Prefect down when the final state was set
            log.warning("turn session %s did not end cleanly: %s", self.flow_run_id, type(exc).__name__)

    async def _body(self, worker: str) -> dict[str, int]:
        """The flow run's body: run every batch sent in until the session is closed."""
        assert self._started is not None
        self.flow_run_id = str(flow_run.get_id())
        self._started.set_result(self.flow_run_id)
        context = FlowRunContext.get()
        running: set[asyncio.Task[None]] = set()

        def finished(job: asyncio.Task[None]) -> None:
            running.discard(job)
            if context is not None:
                # Prefect links every task result to its state in the flow run's context (to draw
                # dependencies when a result is passed on) and keeps them until the run ends: ~16 KB
                # per turn, a leak in a run that lives for 1,000 turns. Turns pass no results on.
                context.run_results.clear()

        while (batch := await self._inbox.get()) is not None:
            job = asyncio.create_task(self._one(batch))
            running.add(job)
            job.add_done_callback(finished)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if self.failed:
            shown = ", ".join(self.failed[:20])
            raise TurnFailed(f"{len(self.failed)} of {self.turns} turns failed: {shown}", {})
        return {"turns": self.turns}

    async def _one(self, batch: _Batch) -> None:
        try:
            outcomes = await self._run_batch(batch.message_ids, batch.conversation_ids)
        except TurnFailed as exc:
            outcomes = exc.outcomes
            self.failed.extend(m for m, o in outcomes.items() if o.startswith("error:"))
        except BaseException as exc:  # handed to the batch's caller, which decides
            if not batch.done.done():
                batch.done.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if not batch.done.done():
            batch.done.set_result(outcomes)
