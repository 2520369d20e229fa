"""What the conversation page shows about the service given: why the conversation went to a person
(the latest handoff reason), how each resolution ended (the customer's answer to the survey) and the
three SLA timers, every time in the operator's zone. Codes and numbers only: no customer content."""

from __future__ import annotations

from typing import Any

from conversation.handoff_reasons import REASON_LABELS
from conversation.sql.outcomes import OutcomeRow, OutcomeStore
from conversation.sql.sla_store import SqlSlaClocks
from services.container import Container
from services.sla import timer_rows
from services.timefmt import TimeFormatter

__all__ = ["service_view"]


async def service_view(services: Container, conversation_id: str, fmt: TimeFormatter) -> dict[str, Any]:
    """``handoff`` (or None), ``outcomes`` (newest first) and ``sla_timers`` (empty without a clock)."""
    store = OutcomeStore(services.db)
    latest = await store.latest_handoff(conversation_id)
    timers = await SqlSlaClocks(services.db).timers(conversation_id)
    return {
        "handoff": None
        if latest is None
        else {
            "reason": latest.reason.value,
            "label": REASON_LABELS[latest.reason],
            "queue": latest.queue or "",
            "at": latest.at.isoformat(),
            "when": fmt.full(latest.at),
        },
        "outcomes": [_outcome(o, fmt) for o in reversed(await store.of_conversation(conversation_id))],
        "sla_timers": timer_rows(timers, fmt) if timers is not None else [],
    }


def _outcome(o: OutcomeRow, fmt: TimeFormatter) -> dict[str, str]:
    if o.solved is None:
        solved = "not answered" if o.rating is None else "not said"
    else:
        solved = "solved" if o.solved else "not solved"
    return {
        "id": o.id,
        "resolved_by": o.resolved_by,
        "at": o.resolved_at.isoformat(),
        "when": fmt.full(o.resolved_at),
        "solved": solved,
        "rating": f"{o.rating}/5" if o.rating is not None else "",
        "survey": o.survey_state.value.replace("_", " "),
    }
