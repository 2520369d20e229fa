"""Prefect's records of our flow runs, for erasure and retention, through Prefect's REST API.

A worker's turns run inside a long-lived ``turns`` flow run (``flows/turn_session.py``): each turn is
a task run named ``turn[<message id>]`` with its steps as task runs ``<step>[<message id>]``, and
their log lines go to that flow run. Runs of the per-batch design carry message and conversation
ids as parameters (never text, STYLE 9), and a failed run's state message can list message ids.
Erasure deletes every flow run whose parameters, name, tags or state name one of the subject's ids,
and every flow run holding a task run named after one of them; Prefect deletes a run's states, task
runs and logs with it. Prefect's API has no call that deletes single task runs' log lines, so a
session run is deleted whole: the other turns of that run (at most ``SESSION_MAX_TURNS`` in
``SESSION_MAX_AGE_S``) lose their Prefect record too; Glassdesk's own timeline keeps theirs. The
erasure then counts any log line naming the subject still held for a deleted run and reports it, so
a receipt never claims more than was done.

This module talks HTTP (httpx), not the Prefect SDK, which only ``flows``/``runtime`` import."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from conversation.errors import ServiceUnavailable
from services.gdpr_subject import Matcher
from services.settings import Settings

__all__ = ["FlowRunStore", "RunErasure", "PrefectRestRuns", "MemoryFlowRuns"]

_PAGE = 200  # Prefect's default (and usual maximum) page size


@dataclass(frozen=True, slots=True)
class RunErasure:
    flow_runs: int  # deleted (with their states, task runs and logs)
    logs_left: int  # log lines of deleted runs naming the subject still found afterwards


class FlowRunStore(Protocol):
    async def erase_naming(self, matcher: Matcher, *, since: datetime | None, dry_run: bool) -> RunErasure:
        """Delete the flow runs (started after ``since``) whose record names one of the matcher's tokens."""

    async def delete_finished_before(self, cutoff: datetime, *, dry_run: bool) -> int:
        """Retention: delete flow runs that ended before ``cutoff``."""

    async def aclose(self) -> None: ...


class PrefectRestRuns:
    def __init__(self, api_url: str, *, timeout_s: float = 10.0, auth: httpx.Auth | None = None) -> None:
        self._api = api_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=timeout_s, auth=auth)

    @classmethod
    async def from_settings(cls, settings: Settings) -> PrefectRestRuns:
        """For the configured server, with its basic auth (``Settings.prefect_auth_string``: file I/O)."""
        user, _, password = (await asyncio.to_thread(settings.prefect_auth_string)).partition(":")
        return cls(settings.prefect_api_url, auth=httpx.BasicAuth(user, password))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def erase_naming(self, matcher: Matcher, *, since: datetime | None, dry_run: bool) -> RunErasure:
        if not matcher:
            return RunErasure(0, 0)
        flow_filter: dict[str, Any] = {}
        if since is not None:
            flow_filter["expected_start_time"] = {"after_": since.isoformat()}
        doomed = {
            str(run["id"])
            for run in await self._all("/flow_runs/filter", {"flow_runs": flow_filter})
            if matcher.search(json.dumps(_identifying(run), default=str))
        }
        doomed |= await self._runs_with_task_runs_naming(matcher, since=since)
        if not dry_run:
            for run_id in sorted(doomed):
                await self._call("DELETE", f"/flow_runs/{run_id}")
        # after deleting: any line of those runs still there (Prefect deletes a run's logs with it)
        logs_left = 0
        if not dry_run:
            for batch in _batches(sorted(doomed), 50):
                logs = await self._all("/logs/filter", {"logs": {"flow_run_id": {"any_": batch}}})
                logs_left += sum(1 for log in logs if matcher.search(str(log.get("message", ""))))
        return RunErasure(len(doomed), logs_left)

    async def _runs_with_task_runs_naming(self, matcher: Matcher, *, since: datetime | None) -> set[str]:
        """Flow runs holding a task run named after one of the subject's ids (``step[<message id>]``)."""
        runs: set[str] = set()
        for token in sorted(t for t in matcher.tokens if _ID_TOKEN.fullmatch(t)):
            body: dict[str, Any] = {
                "task_runs": {"name": {"like_": token}, **_since_filter(since, "expected_start_time")}
            }
            for task_run in await self._all("/task_runs/filter", body):
                if task_run.get("flow_run_id") and matcher.search(str(task_run.get("name", ""))):
                    runs.add(str(task_run["flow_run_id"]))
        return runs

    async def delete_finished_before(self, cutoff: datetime, *, dry_run: bool) -> int:
        runs = await self._all("/flow_runs/filter", {"flow_runs": {"end_time": {"before_": cutoff.isoformat()}}})
        if not dry_run:
            for run in runs:
                await self._call("DELETE", f"/flow_runs/{run['id']}")
        return len(runs)

    async def _all(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self._call("POST", path, json={**body, "limit": _PAGE, "offset": offset})
            assert isinstance(page, list)
            out += page
            if len(page) < _PAGE:
                return out
            offset += _PAGE

    async def _call(self, method: str, path: str, *, json: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request(method, self._api + path, json=json)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the Prefect API at {self._api} is unreachable ({type(exc).__name__}); "
                "start it (`glassdesk run` or `prefect server start`) and run again"
            ) from exc
        if response.status_code == 404 and method == "DELETE":
            return None  # deleted meanwhile
        if response.status_code >= 400:
            raise ServiceUnavailable(
                f"the Prefect API answered {response.status_code} to {method} {path}: {response.text[:200]}"
            )
        return response.json() if response.content else None


_ID_TOKEN = re.compile(r"[a-z]{2,8}_[A-Za-z0-9_-]{8,}")  # our ids (msg_…, conv_…): what task run names carry


def _since_filter(since: datetime | None, field: str) -> dict[str, Any]:
    return {field: {"after_": since.isoformat()}} if since is not None else {}


def _identifying(run: dict[str, Any]) -> dict[str, Any]:
    """The parts of a flow run that can carry our ids."""
    state = run.get("state") or {}
    return {
        "name": run.get("name"),
        "parameters": run.get("parameters"),
        "tags": run.get("tags"),
        "idempotency_key": run.get("idempotency_key"),
        "state_message": state.get("message"),
        "context": run.get("context"),
        "job_variables": run.get("job_variables"),
    }


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MemoryFlowRuns:
    """The fake of :class:`PrefectRestRuns`: runs as dicts (``id``, ``parameters``, ``end_time``...)."""

    def __init__(
        self,
        runs: Iterable[dict[str, Any]] = (),
        *,
        logs: Iterable[dict[str, Any]] = (),
        task_runs: Iterable[dict[str, Any]] = (),
    ) -> None:
        self.runs = {str(r["id"]): dict(r) for r in runs}
        self.logs = list(logs)
        self.task_runs = list(task_runs)  # dicts with ``name`` and ``flow_run_id``

    async def aclose(self) -> None:
        return None

    async def erase_naming(self, matcher: Matcher, *, since: datetime | None, dry_run: bool) -> RunErasure:
        doomed = {rid for rid, run in self.runs.items() if matcher.search(json.dumps(_identifying(run), default=str))}
        doomed |= {
            str(t["flow_run_id"])
            for t in self.task_runs
            if str(t["flow_run_id"]) in self.runs and matcher.search(t["name"])
        }
        if not dry_run:
            for rid in doomed:
                del self.runs[rid]
            self.task_runs = [t for t in self.task_runs if str(t["flow_run_id"]) not in doomed]
        # as in Prefect: a deleted run's log lines stay behind (orphans), so any naming the subject count
        left = sum(
            1 for log in self.logs if str(log.get("flow_run_id")) in doomed and matcher.search(log.get("message"))
        )
        return RunErasure(len(doomed), left)

    async def delete_finished_before(self, cutoff: datetime, *, dry_run: bool) -> int:
        doomed = [rid for rid, run in self.runs.items() if run.get("end_time") and run["end_time"] < cutoff]
        if not dry_run:
            for rid in doomed:
                del self.runs[rid]
        return len(doomed)
