"""What the Prefect UI shows for a set of flow runs, read through the same API the UI reads.

Used by bench/_prefect_turn_probe.py: the runs page (flow runs by flow id), the task-run search (task runs by
name), a flow run's page (its state, task runs, run graph and logs) and a task run's state history. Task runs
reach the database through the server's task-run recorder, logs through the client's API log handler; both
lag behind the run, so ``observe`` polls until everything expected showed and reports the lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
PAGE = 200  # the API's default maximum page size


@dataclass(frozen=True)
class Wait:
    """Poll for at most ``max_s``; give up earlier once nothing new showed for ``stall_s``."""

    max_s: float
    stall_s: float


@dataclass(frozen=True)
class Expect:
    task_runs: int  # task runs in a final state
    logs: int  # own log lines (those starting with one of ``log_prefixes``)
    log_prefixes: tuple[str, ...]


class Api:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.ui_url = self.url.removesuffix("/api")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30)

    async def post_all(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            resp = await self.http.post(path, json={**body, "limit": PAGE, "offset": len(out)})
            resp.raise_for_status()
            page = resp.json()
            out += page
            if len(page) < PAGE:
                return out

    async def get(self, path: str, **params: str) -> Any:
        resp = await self.http.get(path, params=params)
        resp.raise_for_status()
        return resp.json()

    async def task_runs(self, flow_run_ids: list[str]) -> list[dict[str, Any]]:
        return await self.post_all("/task_runs/filter", {"flow_runs": {"id": {"any_": flow_run_ids}}})

    async def logs(self, flow_run_ids: list[str]) -> list[dict[str, Any]]:
        return await self.post_all("/logs/filter", {"logs": {"flow_run_id": {"any_": flow_run_ids}}})

    async def aclose(self) -> None:
        await self.http.aclose()


def count_by(values: Iterable[object]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items()))


async def _wait_for(check: Callable[[], Awaitable[tuple[bool, int]]], wait: Wait) -> float | None:
    """Seconds until ``check`` held; None when it did not within ``wait.max_s``, or when its count did not
    change for ``wait.stall_s`` (nothing is recording)."""
    t0 = last_change = time.perf_counter()
    last_count = -1
    while True:
        done, count = await check()
        now = time.perf_counter()
        if done:
            return round(now - t0, 2)
        if count != last_count:
            last_count, last_change = count, now
        if now - t0 >= wait.max_s or now - last_change >= wait.stall_s:
            return None
        await asyncio.sleep(0.1)


async def observe(api: Api, flow_run_ids: list[str], expect: Expect, wait: Wait) -> dict[str, Any]:
    """Wait until every flow run's task runs are recorded in a final state and its own log lines are
    stored; the lag of each (from the call, made right after the runs finished) and what was there."""
    seen: dict[str, list[dict[str, Any]]] = {"task_runs": [], "logs": []}
    n = len(flow_run_ids)

    def own(logs: list[dict[str, Any]]) -> int:
        return sum(1 for g in logs if str(g["message"]).startswith(expect.log_prefixes))

    async def tasks_done() -> tuple[bool, int]:
        seen["task_runs"] = await api.task_runs(flow_run_ids)
        final = sum(1 for t in seen["task_runs"] if t["state_type"] in FINAL)
        return final >= expect.task_runs * n, final

    async def logs_done() -> tuple[bool, int]:
        seen["logs"] = await api.logs(flow_run_ids)
        return own(seen["logs"]) >= expect.logs * n, own(seen["logs"])

    task_lag, log_lag = await asyncio.gather(_wait_for(tasks_done, wait), _wait_for(logs_done, wait))
    return {
        "flow_runs": n,
        "task_runs_expected": expect.task_runs * n,
        "task_runs_recorded": len(seen["task_runs"]),
        "task_runs_by_state": count_by(t["state_type"] for t in seen["task_runs"]),
        "task_runs_lag_s": task_lag,
        "logs_expected": expect.logs * n,
        "logs_stored": own(seen["logs"]),
        "logs_stored_incl_prefect": len(seen["logs"]),
        "logs_lag_s": log_lag,
    }


async def flow_run_page(
    api: Api, flow_run_id: str, expect: Expect, wait: Wait, *, task_run_names: set[str]
) -> dict[str, Any]:
    """One flow run's page: its state, its task runs (names, states, durations, run counts), the run graph
    and its logs."""
    seen = await observe(api, [flow_run_id], expect, wait)
    flow_run = await api.get(f"/flow_runs/{flow_run_id}")
    task_runs = await api.task_runs([flow_run_id])
    graph = await api.get(f"/flow_runs/{flow_run_id}/graph-v2")
    timed = [t for t in task_runs if t.get("start_time") and t.get("end_time") and (t.get("total_run_time") or 0) > 0]
    return {
        **seen,
        "flow_run_state": flow_run["state_type"],
        "task_run_names_match": bool(task_runs) and {t["name"] for t in task_runs} == task_run_names,
        "task_runs_with_duration": len(timed),
        "graph_nodes": len(graph.get("nodes", [])),
        "task_runs": [
            {
                "name": t["name"],
                "state": t["state_name"],
                "run_count": t["run_count"],
                "total_run_time_s": t["total_run_time"],
                "id": t["id"],
            }
            for t in task_runs
        ],
    }


async def task_run_history(api: Api, task_run_id: str) -> list[str]:
    states = await api.get("/task_run_states/", task_run_id=task_run_id)
    return [s["name"] for s in sorted(states, key=lambda s: s["timestamp"])]


async def ops_links(api: Api, *, flow_name: str, flow_run_id: str, message_id: str, steps: int) -> dict[str, Any]:
    """What the /ops page links to (services/ops_metrics.PrefectLinks): the runs page filtered by the flow's
    id (looked up by name), and the task-run search by message id, plus a flow run's own page."""
    out: dict[str, Any] = {"flow_id_resolves": False, "probe_listed_under_flow": False}
    flow_id = ""
    try:
        flow_id = str((await api.get(f"/flows/name/{flow_name}"))["id"])
        out["flow_id_resolves"] = True
        runs = await api.post_all("/flow_runs/filter", {"flows": {"id": {"any_": [flow_id]}}})
        out["probe_listed_under_flow"] = any(r["id"] == flow_run_id for r in runs)
    except httpx.HTTPStatusError:
        pass
    # the UI's task-run search is a `like_` filter on the task run's name
    found = await api.post_all("/task_runs/filter", {"task_runs": {"name": {"like_": message_id}}})
    out["task_run_search_hits"] = len(found)
    out["task_run_search_expected"] = steps
    pages = {  # a browser asks for HTML; without that Accept header the UI answers 404 for deep links
        "flow_runs_page": f"{api.ui_url}/runs?{urlencode({'tab': 'flow-runs', 'flow': flow_id})}",
        "task_run_search_page": f"{api.ui_url}/runs?{urlencode({'tab': 'task-runs', 'task-run-search': message_id})}",
        "flow_run_page": f"{api.ui_url}/runs/flow-run/{flow_run_id}",
    }
    for key, url in pages.items():
        page = await api.http.get(url, headers={"Accept": "text/html"})
        out[f"{key}_html"] = page.status_code == 200 and "text/html" in page.headers.get("content-type", "")
    return out


async def create_scheduled_deployment(api: Api) -> str:
    """A deployment with an every-minute schedule: with the scheduler running, its runs appear within seconds."""
    flow = (await api.http.post("/flows/", json={"name": "scheduler-probe"})).json()
    body = {
        "name": "every-minute",
        "flow_id": flow["id"],
        "paused": False,
        "schedules": [{"schedule": {"interval": 60}, "active": True}],
    }
    resp = await api.http.post("/deployments/", json=body)
    resp.raise_for_status()
    return str(resp.json()["id"])


async def scheduled_runs(api: Api, deployment_id: str) -> int:
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
    return len(await api.post_all("/flow_runs/filter", body))
