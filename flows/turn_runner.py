"""Runs batches of turns for the worker, as one Prefect flow run per batch."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from conversation.ports import Delivery
from flows.bootstrap import Services
from flows.deps import TurnDeps, build_turn_deps

__all__ = ["TurnRunner"]

log = logging.getLogger("glassdesk.turns")
MODEL_CHECK_EVERY_S = 10.0


class TurnRunner:
    def __init__(self, deps: TurnDeps) -> None:
        self.deps = deps
        self._model_checked_at = time.monotonic()

    @classmethod
    async def create(cls, services: Services) -> "TurnRunner":
        return cls(await build_turn_deps(services))

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> dict[str, BaseException | None]:
        from flows.turn import process_turns, use_deps

        if time.monotonic() - self._model_checked_at >= MODEL_CHECK_EVERY_S:
            self._model_checked_at = time.monotonic()
            if await self.deps.refresh_intent_model():
                log.info("serving the newly promoted intent model %s", self.deps.intent_model.metadata.model_id)
        use_deps(self.deps)
        ids = [d.ref.message_id for d in deliveries]
        convs = [d.ref.conversation_id for d in deliveries]
        try:
            outcomes = await process_turns(ids, convs)
        except Exception as exc:  # noqa: BLE001 - the whole run failed (e.g. Prefect API down): retry later
            log.error("flow run for %d turns failed: %s", len(ids), type(exc).__name__)
            return {d.entry_id: exc for d in deliveries}
        results: dict[str, BaseException | None] = {}
        for d in deliveries:
            outcome = outcomes.get(d.ref.message_id, "error:missing")
            results[d.entry_id] = RuntimeError(outcome) if outcome.startswith("error:") else None
        return results
