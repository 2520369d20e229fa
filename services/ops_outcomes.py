"""The day's outcomes for /ops, in the operator's zone (``GLASSDESK_TIMEZONE``): first-response time,
resolution time, the automation rate over customer-confirmed resolutions, CSAT overall, per queue and
per agent, the handoff reasons, and the SLA breaches per queue (first-response, update and resolution
timers breached today, and open and breached now; ``conversation.sql.sla_store``, in business time).
"Today" starts at local midnight; figures come from stored data (``conversation.sql.outcome_metrics``).
Ids, queue names, staff usernames and numbers only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conversation.handoff_reasons import REASON_LABELS, HandoffReason
from conversation.sla import TimerKind
from conversation.sql.outcome_metrics import Csat, Duration, OutcomeFigures, OutcomeMetrics
from conversation.sql.outcomes import OutcomeStore
from conversation.sql.sla_store import QueueBreaches, SqlSlaClocks
from services.container import Container
from services.timefmt import TimeFormatter

__all__ = ["outcomes_today", "day_start", "outcomes_json", "breaches_json"]

_SYNC_KEY = "gd:ops:handoff-sync"
_SYNC_EVERY_S = 30  # timeline handoffs without a recorded reason are picked up at most this often


def day_start(now: dt.datetime, fmt: TimeFormatter) -> dt.datetime:
    """Local midnight of ``now``'s day in the operator's zone, as UTC."""
    local = fmt.local(now)
    midnight = dt.datetime.combine(local.date(), dt.time(0), tzinfo=fmt.zone)
    return midnight.astimezone(dt.UTC)


async def outcomes_today(services: Container, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    fmt = TimeFormatter.for_zone(services.settings.timezone)
    since = day_start(now, fmt)
    if await services.redis.set(_SYNC_KEY, "1", nx=True, ex=_SYNC_EVERY_S):
        await OutcomeStore(services.db).sync_handoffs(since=since)
    figures = await OutcomeMetrics(services.db).figures(since=since, until=now + dt.timedelta(seconds=1))
    breaches = await SqlSlaClocks(services.db).breaches(since=since, now=now)
    return {**outcomes_json(figures, fmt), "sla_breaches": breaches_json(breaches)}


# the update timer is the next-response timer of conversation.sla
_BREACH_KEYS = {
    TimerKind.FIRST_RESPONSE: "first_response",
    TimerKind.NEXT_RESPONSE: "update",
    TimerKind.RESOLUTION: "resolution",
}


def breaches_json(breaches: list[QueueBreaches]) -> list[dict[str, Any]]:
    """Per queue: ``today`` and ``open_now`` counts for first_response, update and resolution."""
    return [
        {
            "queue": q.queue,
            "today": {key: q.today.get(kind, 0) for kind, key in _BREACH_KEYS.items()},
            "open_now": {key: q.open_now.get(kind, 0) for kind, key in _BREACH_KEYS.items()},
        }
        for q in breaches
    ]


def outcomes_json(figures: OutcomeFigures, fmt: TimeFormatter) -> dict[str, Any]:
    times = {q.queue: q for q in figures.times_by_queue}

    def queue_row(c: Csat) -> dict[str, Any]:
        q = times.get(c.key)
        return {
            "queue": c.key,
            **_csat(c),
            "first_response_median_s": q.first_response.median_s if q else None,
            "resolution_median_s": q.resolution.median_s if q else None,
        }

    reasons = sorted(figures.handoff_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "day": fmt.local(figures.since).date().isoformat(),
        "timezone": fmt.name,
        "since_at": figures.since.isoformat(),
        "conversations": figures.conversations,
        "unanswered": figures.unanswered,
        "first_response": _duration(figures.first_response),
        "resolution": _duration(figures.resolution),
        "resolved": figures.resolved,
        "surveys_asked": figures.surveys_asked,
        "surveys_answered": figures.surveys_answered,
        "confirmed": figures.confirmed,
        "automated_confirmed": figures.automated_confirmed,
        "automation_rate": figures.automation_rate,
        "csat": _csat(figures.total),
        "by_queue": [queue_row(c) for c in figures.by_queue],
        "by_agent": [{"agent": c.key, **_csat(c)} for c in figures.by_agent],
        "handoff_reasons": [{"reason": r, "label": REASON_LABELS.get(_reason(r), r), "count": n} for r, n in reasons],
    }


def _reason(value: str) -> HandoffReason:
    try:
        return HandoffReason(value)
    except ValueError:
        return HandoffReason.OTHER


def _duration(d: Duration) -> dict[str, Any]:
    return {"count": d.count, "median_s": d.median_s, "mean_s": d.mean_s}


def _csat(c: Csat) -> dict[str, Any]:
    return {
        "ratings": c.ratings,
        "average": c.average,
        "csat": c.csat,
        "confirmed": c.confirmed,
        "not_solved": c.not_solved,
    }
