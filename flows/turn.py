"""The turn: load, understand, look up, decide, draft, deliver (or hand off).

One Prefect task per step, named by the inbound message id so the Prefect UI shows every turn even
when many turns share one flow run. Flow parameters are ids only; tasks keep persistence and caching
off, so no message content reaches the Prefect server.

The worker builds the flow once with :func:`build_turn_flow`, handing it the composition root's
objects; nothing is looked up from module state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, cast

from prefect import Flow, flow, task
from prefect.cache_policies import NONE
from prefect.utilities.annotations import quote

from conversation import LockNotAcquired, Route
from conversation.ports import ConversationLease
from flows import steps
from flows.outcome_step import take_outcome_answer
from flows.turn_work import TurnDeps, TurnOutcome, TurnWork
from knowledge.drafting import DraftingFailed

__all__ = [
    "TURN_FLOW_NAME",
    "TurnBatch",
    "TurnFlow",
    "build_turn_batch",
    "build_turn_flow",
    "TurnFailed",
    "TurnTimedOut",
]

TURN_FLOW_NAME = "turns"
log = logging.getLogger("glassdesk.turns")
step_log = logging.getLogger("glassdesk.steps")

P = ParamSpec("P")
Step = Callable[Concatenate[TurnDeps, TurnWork, P], Awaitable[TurnWork]]
TurnFlow = Flow[[list[str], list[str]], Coroutine[Any, Any, dict[str, str]]]
TurnBatch = Callable[[list[str], list[str]], Coroutine[Any, Any, dict[str, str]]]


class TurnTimedOut(Exception):
    """A turn ran longer than ``Settings.turn_timeout_s`` and was cancelled."""


class TurnFailed(Exception):
    """One or more turns of a flow run raised; the flow run ends Failed. ``outcomes`` has every turn's
    result (``error:<Type>`` for the failed ones), so the worker acks the others."""

    def __init__(self, message: str, outcomes: dict[str, str]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


def _verdict(work: TurnWork) -> str:
    """What a turn knows after a step, in words without content (no text, no customer data)."""
    if work.outcome is not None:
        return f"outcome {work.outcome.value}"
    if work.decision is not None:
        return f"route {work.decision.route.value}"
    if work.lookup_records:
        return "lookups " + ", ".join(f"{r.tool} {'ok' if r.ok else 'failed'}" for r in work.lookup_records)
    if work.understanding is not None:
        u = work.understanding
        return f"intent {u.intent or 'none'} ({u.confidence:.2f}), language {u.language}"
    return "done"


class _PlainStep:
    """A step called directly, for the plain in-process runner (``orchestrated=False``): the same
    call shape as a Prefect task (``with_options``, ``name``), no task run, no retries."""

    def __init__(self, deps: TurnDeps, fn: Step[Any]) -> None:
        self.name = fn.__name__
        self._deps, self._fn = deps, fn

    def with_options(self, **_options: object) -> _PlainStep:
        return self

    async def __call__(self, work: TurnWork, *args: Any, **kwargs: Any) -> TurnWork:
        return await self._fn(self._deps, work, *args, **kwargs)


def _bind(deps: TurnDeps, fn: Step[P], *, retries: int = 0, orchestrated: bool = True) -> Any:
    if not orchestrated:
        return _PlainStep(deps, fn)

    async def body(work: TurnWork, *args: P.args, **kwargs: P.kwargs) -> quote:
        done = await fn(deps, work, *args, **kwargs)
        # the step's verdict, no content: this line reaches the Prefect API as the task run's log (the
        # supervisor's PREFECT_LOGGING_EXTRA_LOGGERS includes glassdesk); its ids are stripped there
        step_log.info("%s %s: %s", fn.__name__, work.message_id, _verdict(done))
        return quote(done)

    body.__name__ = body.__qualname__ = fn.__name__
    decorate = task(
        name=fn.__name__,
        # named per turn from the call's own parameter: no Task copy (with_options) per call
        task_run_name=f"{fn.__name__}[{{work.message_id}}]",
        retries=retries,
        retry_delay_seconds=[0.5, 2, 5][:retries] or 0,
        cache_policy=NONE,
        persist_result=False,
        log_prints=False,
    )
    return _QuotedStep(decorate(body))


class _QuotedStep:
    """A step's task, called with the turn's work quoted both ways. Prefect walks every parameter and
    return value looking for futures and states to resolve; ``TurnWork`` holds none, and walking its
    fields cost more than half of each task run's CPU (12.4 -> 5.0 ms per task run, measured). The
    step's body still receives the work itself (Prefect unwraps quoted parameters)."""

    def __init__(self, step: Any) -> None:
        self.task = step
        self.name: str = step.name

    async def __call__(self, work: TurnWork, *args: Any, **kwargs: Any) -> TurnWork:
        done = await self.task(quote(work), *args, **kwargs)
        return cast(TurnWork, done.unquote() if isinstance(done, quote) else done)


async def _lookup_body(tool: str, call: Callable[[], Awaitable[object]]) -> object:
    return await call()


def _lookup_runner(message_id: str) -> steps.LookupRunner:
    """Each back-office call as its own task run, named after the connector that answers it
    (``shop-rest: order_status[msg_…]``), nested under the turn's ``look_up`` task run."""

    async def run(connector: str, tool: str, call: Callable[[], Awaitable[object]]) -> object:
        lookup = task(
            name=connector,
            task_run_name=f"{connector}: {tool}[{message_id}]",
            cache_policy=NONE,
            persist_result=False,
            log_prints=False,
        )(_lookup_body)
        return await lookup(tool, call)

    return run


def build_turn_flow(deps: TurnDeps, *, lock_wait_s: float = 2.0, orchestrated: bool = True) -> TurnFlow:
    """The ``turns`` flow with one flow run per batch, bound to this worker's container and turn kit.
    ``orchestrated=False`` gives the same steps, branches, lease and outcomes as a plain coroutine
    function without Prefect (the bench's baseline, ``GLASSDESK_TURN_ORCHESTRATION=plain``): no task
    runs, no step retries. The worker's default runs batches inside a long-lived flow run instead
    (:mod:`flows.turn_session`), with the same :func:`build_turn_batch`."""
    process_turns = build_turn_batch(deps, lock_wait_s=lock_wait_s, orchestrated=orchestrated)
    if not orchestrated:
        return cast(TurnFlow, process_turns)
    return flow(name=TURN_FLOW_NAME, persist_result=False, log_prints=False, validate_parameters=False)(process_turns)


def build_turn_batch(deps: TurnDeps, *, lock_wait_s: float = 2.0, orchestrated: bool = True) -> TurnBatch:
    """Runs a batch of turns concurrently, each under its conversation's lease and time limit. When
    orchestrated, each turn is a task run ``turn[message_id]`` (Failed when the turn raised) and its
    steps are task runs nested under it; the caller provides the flow run around the batch."""

    def bind(fn: Step[P], retries: int = 0) -> Any:
        return _bind(deps, fn, retries=retries, orchestrated=orchestrated)

    load = bind(steps.load_turn, retries=2)
    understand = bind(steps.understand_turn)
    look_up = bind(steps.look_up, retries=2)
    decide = bind(steps.decide)
    draft = bind(steps.draft_reply, retries=2)
    send_reply = bind(steps.send_reply, retries=2)
    ask_clarification = bind(steps.ask_clarification, retries=2)
    hand_off = bind(steps.hand_off, retries=2)
    await_agent = bind(steps.await_agent, retries=2)
    take_outcome = bind(take_outcome_answer, retries=2)

    turn_timeout_s = deps.services.settings.turn_timeout_s

    async def run_turn(message_id: str, conversation_id: str) -> TurnOutcome:
        """One turn, under the conversation's lease (one writer per conversation), within
        ``turn_timeout_s``. A busy conversation defers the turn instead of holding a flow-run slot
        while it waits; a turn that overruns is cancelled (its lease released) and raises
        ``TurnTimedOut``, so its batch finishes and the turn is delivered again."""
        limit = asyncio.timeout(turn_timeout_s)
        try:
            async with limit, deps.services.locks.hold(conversation_id, wait_s=lock_wait_s) as lease:
                return await steps_of(TurnWork(message_id=message_id, conversation_id=conversation_id), lease)
        except LockNotAcquired:
            return TurnOutcome.DEFERRED
        except TimeoutError as exc:
            if not limit.expired():
                raise  # a step's own timeout, not the turn's limit: a failed turn like any other
            log.error("turn %s: still running after %.0f s, cancelled", message_id, turn_timeout_s)
            raise TurnTimedOut(f"turn {message_id} ran longer than {turn_timeout_s:.0f} s") from exc

    async def steps_of(work: TurnWork, lease: ConversationLease) -> TurnOutcome:
        def named(t: Any) -> Any:
            lease.ensure()  # fencing: a holder whose lease lapsed stops before it writes again
            return t  # its task run is named ``<step>[<message id>]`` from the call's ``work``

        work = await named(load)(work)
        if work.outcome is TurnOutcome.ALREADY_DONE:
            return work.outcome
        work = await named(take_outcome)(work)  # a survey answer (issue 12): also where a person is in charge
        if work.outcome is not None:
            return work.outcome
        if work.human_in_charge:
            return TurnOutcome.HUMAN_IN_CHARGE
        work = await named(understand)(work)
        if orchestrated:
            work = await named(look_up)(work, run=_lookup_runner(work.message_id))
        else:
            work = await named(look_up)(work)
        work = await named(decide)(work)
        assert work.decision is not None
        route = work.decision.route
        if route is Route.HANDOFF:
            work = await named(hand_off)(work, reason="policy routes to a person")
        elif route is Route.ASK_CLARIFICATION:
            work = await named(ask_clarification)(work)
        else:
            try:
                work = await named(draft)(work)
            except DraftingFailed as exc:  # still unreachable after the step's retries
                work.draft, work.draft_failure = None, str(exc)[:200]
            if work.draft is None:
                reason = (
                    f"drafting failed: {work.draft_failure}" if work.draft_failure else "no source: no automated answer"
                )
                work = await named(hand_off)(work, reason=reason)
            elif route is Route.AUTO_REPLY and work.draft.grounded:
                work = await named(send_reply)(work)
            else:
                reason = "policy asks for approval" if route is Route.DRAFT_FOR_APPROVAL else "draft not grounded"
                work = await named(await_agent)(work, reason=reason)
        assert work.outcome is not None
        return work.outcome

    one_turn: Callable[[str, str], Awaitable[TurnOutcome]] = run_turn
    if orchestrated:
        one_turn = task(
            name="turn", task_run_name="turn[{message_id}]", cache_policy=NONE, persist_result=False, log_prints=False
        )(run_turn)

    async def process_turns(message_ids: list[str], conversation_ids: list[str]) -> dict[str, str]:
        """A batch of turns (amortises Prefect's per-run cost under load). Raises ``TurnFailed``, with
        every turn's outcome, when any of its turns raised: the flow run around it ends Failed."""
        results = await asyncio.gather(
            *(one_turn(m, c) for m, c in zip(message_ids, conversation_ids, strict=True)), return_exceptions=True
        )
        out: dict[str, str] = {}
        failed = []
        for message_id, result in zip(message_ids, results, strict=True):
            if isinstance(result, BaseException):
                out[message_id] = f"error:{type(result).__name__}"
                failed.append(message_id)
            else:
                out[message_id] = result.value
        if failed:
            raise TurnFailed(f"{len(failed)} of {len(message_ids)} turns failed: {', '.join(failed[:20])}", out)
        return out

    return process_turns
