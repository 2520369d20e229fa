"""Runs batches of turns for the worker, as one Prefect flow run per batch."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from conversation.ports import Delivery
from flows.turn import TurnFailed, TurnFlow, build_turn_flow
from flows.turn_work import TurnDeps, TurnOutcome
from runtime.compose import build_turn_kit
from services.container import Container

__all__ = ["TurnRunner", "OrchestratorUnavailable"]


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


class TurnRunner:
    def __init__(self, deps: TurnDeps) -> None:
        self.deps = deps
        self._flow: TurnFlow = build_turn_flow(
            deps, orchestrated=deps.services.settings.turn_orchestration == "prefect"
        )
        self._model_checked_at = time.monotonic()

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
        try:
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
