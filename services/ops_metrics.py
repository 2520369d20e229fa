"""The ops dashboard's figures in one JSON-ready snapshot: SQL figures (``conversation.sql.metrics``),
the day's outcomes (``services.ops_outcomes``: first-response and resolution time, automation rate on
confirmed resolutions, CSAT, handoff reasons), the Redis turn stream and its dead-letter stream, open
quarantine items and links into the Prefect UI.

Ids and counts only: no message text, no addresses, no names.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from conversation.enums import Route
from conversation.sql.metrics import Latency, OpsFigures, SqlOpsMetrics
from services.container import Container
from services.settings import Settings

__all__ = ["ops_snapshot", "PrefectLinks", "TURN_FLOW", "turn_queue_depth", "prefect_basic_auth"]

TURN_FLOW = "turns"  # flows/turn.py: @flow(name="turns"); task runs are named step[message_id]
_LIST = 10
_WAITING_CAP = 1_000  # Redis 6.2 only: counting beyond this says "1000+"


def prefect_basic_auth(auth_string: str) -> httpx.BasicAuth:
    """The Prefect server's basic auth (``Settings.prefect_auth_string()``) for an httpx client."""
    user, _, password = auth_string.partition(":")
    return httpx.BasicAuth(user, password)


class PrefectLinks:
    """Links into the Prefect UI. Its runs page filters by flow id, so the id of the flow named
    ``turns`` is looked up once through the Prefect API (with its basic auth; short timeout, cached;
    retried after a miss)."""

    def __init__(self, settings: Settings, *, retry_after_s: float = 60.0) -> None:
        api = settings.prefect_api_url.rstrip("/")
        self.api_url = api
        self.ui_url = api[: -len("/api")] if api.endswith("/api") else api
        self._settings = settings
        self._flow_id: str | None = None
        self._missed_at = -retry_after_s
        self._retry_after_s = retry_after_s

    async def flow_id(self) -> str | None:
        if self._flow_id is None and time.monotonic() - self._missed_at >= self._retry_after_s:
            try:
                auth = prefect_basic_auth(await asyncio.to_thread(self._settings.prefect_auth_string))
                async with httpx.AsyncClient(timeout=1.5, auth=auth) as client:
                    resp = await client.get(f"{self.api_url}/flows/name/{quote(TURN_FLOW)}")
                resp.raise_for_status()
                self._flow_id = str(resp.json()["id"])
            except Exception:  # noqa: BLE001 - Prefect down or the flow never ran: plain links instead
                self._missed_at = time.monotonic()
        return self._flow_id

    def flow_runs(self, flow_id: str | None) -> str:
        if flow_id:
            return f"{self.ui_url}/runs?{urlencode({'tab': 'flow-runs', 'flow': flow_id})}"
        return f"{self.ui_url}/flows"

    async def turn_run_of(self, message_id: str) -> str | None:
        """The id of the turn's own task run (``turn[message_id]``, its steps nested under it; the
        latest when the turn ran more than once), or None when Prefect does not know it or does not
        answer. Runs of the per-batch design have no such task run: see :meth:`flow_run_of`."""
        runs = await self._task_runs_named(message_id)
        for run in runs:
            if run.get("name") == f"turn[{message_id}]":
                return str(run["id"])
        return None

    async def flow_run_of(self, message_id: str) -> str | None:
        """The id of the latest flow run that ran a step of this turn (its task runs are named
        ``step[message_id]``), or None when Prefect does not know it or does not answer."""
        for run in await self._task_runs_named(message_id):
            if str(run.get("name", "")).endswith(f"[{message_id}]") and run.get("flow_run_id"):
                return str(run["flow_run_id"])
        return None

    async def _task_runs_named(self, message_id: str) -> list[dict[str, Any]]:
        try:
            auth = prefect_basic_auth(await asyncio.to_thread(self._settings.prefect_auth_string))
            async with httpx.AsyncClient(timeout=3.0, auth=auth) as client:
                resp = await client.post(
                    f"{self.api_url}/task_runs/filter",
                    json={
                        "task_runs": {"name": {"like_": f"[{message_id}]"}},
                        "sort": "EXPECTED_START_TIME_DESC",
                        "limit": 20,
                    },
                )
            resp.raise_for_status()
        except Exception:  # noqa: BLE001 - Prefect down: the caller falls back to the search page
            return []
        return [run for run in resp.json() if isinstance(run, dict)]

    def flow_run(self, flow_run_id: str) -> str:
        return f"{self.ui_url}/runs/flow-run/{quote(flow_run_id)}"

    def task_run(self, task_run_id: str) -> str:
        return f"{self.ui_url}/runs/task-run/{quote(task_run_id)}"

    @staticmethod
    def turn_link(message_id: str) -> str:
        """Glassdesk's own link for a turn: ``GET /ops/prefect/turns/<id>`` opens its exact flow run."""
        return f"/ops/prefect/turns/{quote(message_id)}"

    def task_runs_of(self, message_id: str) -> str:
        """Task runs named ``step[message_id]``: the UI's task-run search matches on the name."""
        return f"{self.ui_url}/runs?{urlencode({'tab': 'task-runs', 'task-run-search': message_id})}"


async def turn_queue_depth(services: Container) -> dict[str, Any]:
    """Entries waiting for a worker, delivered but not acknowledged, and dead-lettered. Redis 7
    reports the group's lag; on Redis 6.2 the waiting entries are counted (capped) after the
    group's last-delivered id."""
    queue = services.queue
    depth = await queue.depth()
    waiting = depth.get("lag", 0)
    capped = False
    if not waiting:
        groups = await services.redis.xinfo_groups(queue.stream)
        info = next((g for g in groups if g["name"] == queue.group), None)
        if info is not None and info.get("lag") is None:
            last = info.get("last-delivered-id") or "0-0"
            entries = await services.redis.xrange(queue.stream, min=f"({last}", max="+", count=_WAITING_CAP)
            waiting, capped = len(entries or []), len(entries or []) >= _WAITING_CAP
    return {
        "waiting": int(waiting),
        "waiting_capped": capped,
        "in_progress": depth["pending"],
        "dead_lettered": depth["dead"],
    }


async def ops_snapshot(
    services: Container, *, links: PrefectLinks, counters: dict[str, int] | None = None
) -> dict[str, Any]:
    from services.ledger import compute_ledger
    from services.ops_outcomes import outcomes_today
    from services.process_status import crash_looping, read_supervisor_status

    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
    outcomes_task = asyncio.create_task(outcomes_today(services))  # gather() is typed for six at most
    try:
        figures, queue, dead, quarantine, flow_id, ledger = await asyncio.gather(
            SqlOpsMetrics(services.db).figures(),
            turn_queue_depth(services),
            services.queue.dead_letters(count=_LIST),
            services.quarantine.open_items(),
            links.flow_id(),
            compute_ledger(services, since=since),
        )
    except BaseException:
        outcomes_task.cancel()
        raise
    outcomes = await outcomes_task
    processes = await asyncio.to_thread(read_supervisor_status, services.settings.var_dir)
    return {
        "ledger": ledger.to_json(),
        "processes": {
            "supervised": processes is not None,
            "crash_loop": crash_looping(processes),
            "children": (processes or {}).get("children", {}),
        },
        "generated_at": figures.generated_at.isoformat(),
        "outcomes": outcomes,
        "turn_queue": queue,
        "queues": [
            {"queue": q.queue, "awaiting_agent": q.awaiting_agent, "handed_off": q.handed_off, "breached": q.breached}
            for q in figures.queues
        ],
        "inbound": {"last_hour": figures.inbound_last_hour, "last_day": figures.inbound_last_day},
        "turns_per_minute": _per_minute(figures),
        "routes_last_day": {
            "decided": figures.decided_last_day,
            **{r.value: figures.routes_last_day.get(r.value, 0) for r in Route},
        },
        "automation_rate": figures.rate(Route.AUTO_REPLY),
        "handoff_rate": figures.rate(Route.HANDOFF),
        "latency": {"last_hour": _latency(figures.latency_last_hour), "last_day": _latency(figures.latency_last_day)},
        "sla": {
            "breached": figures.sla_breached,
            "oldest": [
                {
                    "conversation_id": b.conversation_id,
                    "queue": b.queue,
                    "priority": b.priority,
                    "status": b.status,
                    "overdue_min": b.overdue_min,
                }
                for b in figures.sla_oldest
            ],
        },
        "failures": {
            "failed_turns_last_day": figures.failed_turns_last_day,
            "failed_deliveries": figures.outbox_problems.get("failed", 0),
            "ambiguous_deliveries": figures.outbox_problems.get("ambiguous", 0),
            "dead_lettered": queue["dead_lettered"],
            "dead_letters": [_dead_letter(d, links) for d in dead],
        },
        "quarantine": {
            "open": len(quarantine),
            "newest": [
                {"id": q["id"], "channel": q["channel"], "reason": q["reason"], "created_at": _iso(q["created_at"])}
                for q in quarantine[-_LIST:][::-1]
            ],
        },
        "webhooks": {k: v for k, v in sorted((counters or {}).items()) if isinstance(v, int)},
        "prefect": {
            "ui_url": links.ui_url,
            "flow": TURN_FLOW,
            "flow_runs_url": links.flow_runs(flow_id),
            "flow_resolved": flow_id is not None,
        },
    }


def _per_minute(figures: OpsFigures) -> dict[str, Any]:
    series = list(figures.per_minute)
    return {
        "current": series[-1],
        "last_full_minute": series[-2],
        "average_60m": round(sum(series) / 60, 2),
        "series": series,
    }


def _latency(latency: Latency) -> dict[str, Any]:
    return {"count": latency.count, "p50_s": latency.p50_s, "p95_s": latency.p95_s}


def _dead_letter(entry: dict[str, str], links: PrefectLinks) -> dict[str, Any]:
    message_id = entry.get("message_id", "")
    at_ms = entry.get("id", "0-0").split("-")[0]
    return {
        "entry_id": entry.get("id"),
        "message_id": message_id,
        "conversation_id": entry.get("conversation_id"),
        "deliveries": int(entry.get("deliveries", "0") or 0),
        "reason": (entry.get("reason") or "")[:120],
        "at": _iso_ms(at_ms),
        "task_runs_url": links.turn_link(message_id) if message_id else None,
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    from conversation.sql.rows import aware

    return str(aware(value).isoformat())


def _iso_ms(ms: str) -> str | None:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).isoformat()
    except ValueError:
        return None
