"""The turn: load, understand, look up, decide, draft, deliver (or hand off).

One Prefect task per step, named by the inbound message id so the Prefect UI shows every turn even
when many turns share one flow run. Flow parameters are ids only; tasks keep persistence and caching
off, so no message content reaches the Prefect server."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from conversation import Route
from flows import steps
from flows.deps import TurnDeps
from flows.turn_work import TurnOutcome, TurnWork

__all__ = ["process_turns", "run_turn", "use_deps"]

_DEPS: contextvars.ContextVar[TurnDeps] = contextvars.ContextVar("glassdesk_turn_deps")


def use_deps(deps: TurnDeps) -> contextvars.Token[TurnDeps]:
    """Set by the worker (the composition root) before it runs the flow."""
    return _DEPS.set(deps)


def _step(fn: Any, *, retries: int = 0) -> Any:
    async def body(work: TurnWork, **kwargs: Any) -> TurnWork:
        return await fn(_DEPS.get(), work, **kwargs)

    body.__name__ = fn.__name__
    body.__qualname__ = fn.__name__
    return task(body, name=fn.__name__, retries=retries, retry_delay_seconds=[0.5, 2, 5][:retries] or 0,
                cache_policy=NONE, persist_result=False, log_prints=False)


load = _step(steps.load_turn, retries=2)
understand = _step(steps.understand_turn)
look_up = _step(steps.look_up, retries=2)
decide = _step(steps.decide)
draft = _step(steps.draft_reply, retries=2)
send_reply = _step(steps.send_reply, retries=3)
ask_clarification = _step(steps.ask_clarification, retries=3)
hand_off = _step(steps.hand_off, retries=3)
await_agent = _step(steps.await_agent, retries=2)


def _named(t: Any, work: TurnWork) -> Any:
    return t.with_options(task_run_name=f"{t.name}[{work.message_id}]")


async def run_turn(message_id: str, conversation_id: str) -> str:
    """One turn, under the conversation's lock (one writer per conversation)."""
    deps = _DEPS.get()
    work = TurnWork(message_id=message_id, conversation_id=conversation_id)
    async with deps.services.locks.hold(conversation_id, timeout_s=300, wait_s=60):
        work = await _named(load, work)(work)
        if work.outcome == TurnOutcome.ALREADY_DONE:
            return work.outcome
        if work.human_in_charge:
            return TurnOutcome.HUMAN_IN_CHARGE
        work = await _named(understand, work)(work)
        work = await _named(look_up, work)(work)
        work = await _named(decide, work)(work)
        route = Route(work.decision.route.value)
        if route is Route.HANDOFF:
            work = await _named(hand_off, work)(work, reason="policy routes to a person")
        elif route is Route.ASK_CLARIFICATION:
            work = await _named(ask_clarification, work)(work)
        else:
            work = await _named(draft, work)(work)
            if work.draft is None:
                work = await _named(hand_off, work)(work, reason="no source: no automated answer")
            elif route is Route.AUTO_REPLY and work.draft.grounded:
                work = await _named(send_reply, work)(work)
            else:
                reason = "policy asks for approval" if route is Route.DRAFT_FOR_APPROVAL else "draft not grounded"
                work = await _named(await_agent, work)(work, reason=reason)
    return work.outcome


@flow(name="turns", persist_result=False, log_prints=False, validate_parameters=False)
async def process_turns(message_ids: list[str], conversation_ids: list[str]) -> dict[str, str]:
    """A batch of turns in one flow run (amortises Prefect's per-run cost under load)."""
    results = await asyncio.gather(*(run_turn(m, c) for m, c in zip(message_ids, conversation_ids, strict=True)),
                                   return_exceptions=True)
    out: dict[str, str] = {}
    for message_id, result in zip(message_ids, results, strict=True):
        out[message_id] = result if isinstance(result, str) else f"error:{type(result).__name__}"
    return out

