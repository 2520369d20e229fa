"""The client half of bench/prefect_visibility.py: a turn-shaped flow run against one Prefect server, timed,
then what the Prefect UI would show for it, read back through the Prefect API.

Run as a child process (``python bench/_prefect_turn_probe.py SPEC.json OUT.json``) so every server
configuration gets a fresh Prefect client with its own settings (``PREFECT_API_URL``,
``PREFECT_LOGGING_TO_API_ENABLED`` are read from the environment at import). ``--plain`` runs the same nine
steps as plain coroutines, without Prefect, for the ratio.

The flow mirrors ``flows/turn.py``: one flow run, nine async tasks (one per turn step) doing about 2 ms of
CPU work each, ``task_run_name="<step>[<message_id>]"``, ``persist_result=False``, ``cache_policy=NONE``,
one ``get_run_logger()`` line per step (ids only) and one per flow run.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

STEPS = (
    "load_turn",
    "understand_turn",
    "look_up",
    "decide",
    "draft_reply",
    "send_reply",
    "ask_clarification",
    "hand_off",
    "await_agent",
)
WORK_MS = 2.0
FLOW_NAME = "turns"  # as flows/turn.py, so the /ops link lookup (GET /flows/name/turns) is the real one
STEP_LOG = "step done message_id="
FLOW_LOG = "turn started message_id="
FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class ProbeSpec:
    """What the orchestrator asks of one probe process."""

    api_url: str
    sequential_runs: int
    concurrent_runs: int
    concurrent_rounds: int
    wait_s: float  # how long to wait for task runs and logs to show before calling them missing
    server_pgid: int | None  # the server's process group, for its CPU time
    count_postgres_cpu: bool
    phase_deadline_s: float  # the concurrent phase stops starting new rounds after this


def _spin(ms: float) -> None:
    """Busy CPU work (the turn steps are CPU-bound: intent model, policy, templates), not a sleep."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 2)

    return {
        "n": len(values),
        "p50": q(0.5),
        "p95": q(0.95),
        "max": round(ordered[-1], 2),
        "mean": round(sum(values) / len(values), 2),
    }


# -- CPU accounting -------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> list[tuple[int, str, int, float]]:
    """(pid, comm, pgid, cpu seconds incl. reaped children) of every live process."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is state (field 3); utime, stime, cutime, cstime are fields 14-17; pgrp is field 5
        cpu = sum(int(x) for x in fields[11:15]) / _TICK
        out.append((int(entry), comm, int(fields[2]), cpu))
    return out


def cpu_seconds(pgid: int | None, *, postgres: bool) -> dict[str, float]:
    stats = _proc_stats()
    server = sum(cpu for _pid, _comm, group, cpu in stats if pgid is not None and group == pgid)
    db = sum(cpu for _pid, comm, _group, cpu in stats if postgres and comm == "postgres")
    return {"server": server, "postgres": db, "client": time.process_time()}


def machine_busy_s() -> float:
    """CPU seconds all processes on the machine used so far (user+nice+system+irq+softirq+steal)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in first[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


class CpuMeter:
    """CPU seconds the server (and PostgreSQL), this client and everybody else used during a phase."""

    def __init__(self, spec: ProbeSpec) -> None:
        self.spec = spec
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {
            **cpu_seconds(self.spec.server_pgid, postgres=self.spec.count_postgres_cpu),
            "machine": machine_busy_s(),
            "wall": time.perf_counter(),
        }

    def stop(self, runs: int) -> dict[str, Any]:
        now = {
            **cpu_seconds(self.spec.server_pgid, postgres=self.spec.count_postgres_cpu),
            "machine": machine_busy_s(),
            "wall": time.perf_counter(),
        }
        d = {k: now[k] - self._start[k] for k in now}
        ours = d["server"] + d["postgres"] + d["client"]
        return {
            "server_cpu_ms_per_run": round(1000 * d["server"] / runs, 1),
            "postgres_cpu_ms_per_run": round(1000 * d["postgres"] / runs, 1) if self.spec.count_postgres_cpu else None,
            "client_cpu_ms_per_run": round(1000 * d["client"] / runs, 1),
            "others_cpu_cores": round(max(0.0, d["machine"] - ours) / d["wall"], 2) if d["wall"] else None,
        }


# -- the workload --------------------------------------------------------------------------------
def build_flow() -> Any:
    from prefect import flow, get_run_logger, task
    from prefect.cache_policies import NONE
    from prefect.runtime import task_run

    def make_step(name: str) -> Any:
        async def body(message_id: str, fail: bool = False, flaky: bool = False) -> str:
            _spin(WORK_MS)
            get_run_logger().info("%s%s", STEP_LOG, message_id)
            if fail:
                raise RuntimeError(f"{name} failed on purpose for message {message_id} (benchmark)")
            if flaky and task_run.run_count == 1:
                raise RuntimeError(f"{name} failed its first attempt on purpose for message {message_id}")
            return message_id

        body.__name__ = body.__qualname__ = name
        return task(name=name, cache_policy=NONE, persist_result=False, log_prints=False, retry_delay_seconds=0)(body)

    steps = [make_step(name) for name in STEPS]

    @flow(name=FLOW_NAME, persist_result=False, log_prints=False, validate_parameters=False)
    async def turn(message_id: str, fail_at: int = -1, flaky_at: int = -1) -> str:
        get_run_logger().info("%s%s", FLOW_LOG, message_id)
        for i, step in enumerate(steps):
            # one retry for the flaky step only (its first attempt fails); a failing step fails for good
            await step.with_options(task_run_name=f"{step.name}[{message_id}]", retries=1 if i == flaky_at else 0)(
                message_id, fail=i == fail_at, flaky=i == flaky_at
            )
        return message_id

    return turn


async def plain_turn(message_id: str) -> str:
    """The same nine steps as plain coroutines: the floor without any orchestrator."""
    for _name in STEPS:
        await asyncio.sleep(0)
        _spin(WORK_MS)
    return message_id


@dataclass(frozen=True)
class Run:
    message_id: str
    flow_run_id: str | None
    wall_ms: float
    state: str


async def run_once(turn: Any, *, fail_at: int = -1, flaky_at: int = -1) -> Run:
    message_id = f"m-{uuid.uuid4().hex[:12]}"
    t0 = time.perf_counter()
    state = await turn(message_id, fail_at=fail_at, flaky_at=flaky_at, return_state=True)
    wall = (time.perf_counter() - t0) * 1000
    return Run(message_id, str(state.state_details.flow_run_id), round(wall, 2), str(state.type.value))


# -- what the UI would show, through the API -----------------------------------------------------
class Api:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30)

    async def post_all(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            resp = await self.http.post(path, json={**body, "limit": 200, "offset": len(out)})
            resp.raise_for_status()
            page = resp.json()
            out += page
            if len(page) < 200:
                return out

    async def task_runs(self, flow_run_ids: list[str]) -> list[dict[str, Any]]:
        return await self.post_all("/task_runs/filter", {"flow_runs": {"id": {"any_": flow_run_ids}}})

    async def logs(self, flow_run_ids: list[str]) -> list[dict[str, Any]]:
        return await self.post_all("/logs/filter", {"logs": {"flow_run_id": {"any_": flow_run_ids}}})

    async def get(self, path: str, **params: str) -> Any:
        resp = await self.http.get(path, params=params)
        resp.raise_for_status()
        return resp.json()


async def _wait_for(check: Callable[[], Awaitable[bool]], wait_s: float) -> float | None:
    """Seconds until ``check`` held, or None when it did not within ``wait_s``."""
    t0 = time.perf_counter()
    while True:
        if await check():
            return round(time.perf_counter() - t0, 2)
        if time.perf_counter() - t0 >= wait_s:
            return None
        await asyncio.sleep(0.1)


async def observe(api: Api, runs: list[Run], *, tasks_per_run: int, logs_per_run: int, wait_s: float) -> dict[str, Any]:
    """Wait (up to ``wait_s``) until every run's task runs are recorded in a final state and its own log
    lines are stored; report the lag of each, and what was there at the end."""
    ids = [r.flow_run_id for r in runs if r.flow_run_id]
    seen: dict[str, list[dict[str, Any]]] = {"task_runs": [], "logs": []}

    async def tasks_done() -> bool:
        seen["task_runs"] = await api.task_runs(ids)
        final = [t for t in seen["task_runs"] if t["state_type"] in FINAL]
        return len(final) >= tasks_per_run * len(ids)

    async def logs_done() -> bool:
        seen["logs"] = await api.logs(ids)
        return len(_own_logs(seen["logs"])) >= logs_per_run * len(ids)

    task_lag, log_lag = await asyncio.gather(_wait_for(tasks_done, wait_s), _wait_for(logs_done, wait_s))
    task_runs = seen["task_runs"]
    return {
        "flow_runs": len(ids),
        "task_runs_expected": tasks_per_run * len(ids),
        "task_runs_recorded": len(task_runs),
        "task_runs_by_state": _count(t["state_type"] for t in task_runs),
        "task_runs_lag_s": task_lag,
        "logs_expected": logs_per_run * len(ids),
        "logs_stored": len(_own_logs(seen["logs"])),
        "logs_stored_incl_prefect": len(seen["logs"]),
        "logs_lag_s": log_lag,
    }


def _own_logs(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for g in logs if str(g["message"]).startswith((STEP_LOG, FLOW_LOG))]


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items()))


async def inspect_run(api: Api, run: Run, *, wait_s: float, tasks: int, logs: int) -> dict[str, Any]:
    """One run as its Prefect UI page shows it: state, task runs (names, states, durations, retries),
    the run graph and the logs."""
    seen = await observe(api, [run], tasks_per_run=tasks, logs_per_run=logs, wait_s=wait_s)
    assert run.flow_run_id is not None
    flow_run = await api.get(f"/flow_runs/{run.flow_run_id}")
    task_runs = await api.task_runs([run.flow_run_id])
    graph = await api.get(f"/flow_runs/{run.flow_run_id}/graph-v2")
    expected_names = {f"{s}[{run.message_id}]" for s in STEPS[:tasks]}
    return {
        **seen,
        "client_state": run.state,
        "flow_run_state": flow_run["state_type"],
        "task_run_names_match": bool(task_runs) and {t["name"] for t in task_runs} == expected_names,
        "task_runs_with_duration": sum(
            1
            for t in task_runs
            if t.get("start_time") and t.get("end_time") and float(t.get("total_run_time") or 0) > 0
        ),
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


async def ops_links(api: Api, probe: Run) -> dict[str, Any]:
    """What the /ops page links to (services/ops_metrics.PrefectLinks): the runs page filtered by the
    ``turns`` flow id, and the task-run search by message id."""
    ui = api.url[: -len("/api")]
    out: dict[str, Any] = {}
    flow_id = ""
    try:
        flow_id = str((await api.get(f"/flows/name/{FLOW_NAME}"))["id"])
        out["flow_id_resolves"] = True
        runs = await api.post_all("/flow_runs/filter", {"flows": {"id": {"any_": [flow_id]}}})
        out["probe_listed_under_flow"] = any(r["id"] == probe.flow_run_id for r in runs)
    except httpx.HTTPStatusError:
        out["flow_id_resolves"] = False
        out["probe_listed_under_flow"] = False
    # the UI's task-run search is a name `like_` filter
    found = await api.post_all("/task_runs/filter", {"task_runs": {"name": {"like_": probe.message_id}}})
    out["task_run_search_hits"] = len(found)
    # the pages themselves (a browser asks for HTML; without that Accept header the SPA answers 404)
    pages = {
        "flow_runs_page": f"{ui}/runs?{urlencode({'tab': 'flow-runs', 'flow': flow_id})}",
        "task_run_search_page": f"{ui}/runs?{urlencode({'tab': 'task-runs', 'task-run-search': probe.message_id})}",
        "flow_run_page": f"{ui}/runs/flow-run/{probe.flow_run_id}",
    }
    for key, url in pages.items():
        page = await api.http.get(url, headers={"Accept": "text/html"})
        out[f"{key}_html"] = page.status_code == 200 and "text/html" in page.headers.get("content-type", "")
    return out


async def create_scheduled_deployment(api: Api) -> str:
    flow = (await api.http.post("/flows/", json={"name": "scheduler-probe"})).json()
    resp = await api.http.post(
        "/deployments/",
        json={
            "name": "every-minute",
            "flow_id": flow["id"],
            "paused": False,
            "schedules": [{"schedule": {"interval": 60}, "active": True}],
        },
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


async def scheduled_runs(api: Api, deployment_id: str) -> int:
    runs = await api.post_all(
        "/flow_runs/filter",
        {"deployments": {"id": {"any_": [deployment_id]}}, "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}},
    )
    return len(runs)


# -- phases --------------------------------------------------------------------------------------
async def timed_phases(
    run: Callable[[], Awaitable[Run]],
    spec: ProbeSpec,
    meter: CpuMeter | None,
) -> tuple[list[Run], list[Run], dict[str, Any]]:
    out: dict[str, Any] = {}
    if meter:
        meter.start()
    t0 = time.perf_counter()
    seq = [await run() for _ in range(spec.sequential_runs)]
    seq_s = time.perf_counter() - t0
    out["sequential"] = {
        "wall_ms": summary([r.wall_ms for r in seq]),
        "runs_per_s": round(len(seq) / seq_s, 2),
        "states": _count(r.state for r in seq),
        **(meter.stop(len(seq)) if meter else {}),
    }
    conc: list[Run] = []
    rounds_s: list[float] = []
    if meter:
        meter.start()
    t0 = time.perf_counter()
    for _ in range(spec.concurrent_rounds):
        r0 = time.perf_counter()
        conc += await asyncio.gather(*(run() for _ in range(spec.concurrent_runs)))
        rounds_s.append(round(time.perf_counter() - r0, 2))
        if time.perf_counter() - t0 > spec.phase_deadline_s:
            break
    conc_s = time.perf_counter() - t0
    out["concurrent"] = {
        "parallel": spec.concurrent_runs,
        "rounds": len(rounds_s),
        "round_s": rounds_s,
        "wall_ms": summary([r.wall_ms for r in conc]),
        "runs_per_s": round(len(conc) / conc_s, 2),
        "states": _count(r.state for r in conc),
        **(meter.stop(len(conc)) if meter else {}),
    }
    return seq, conc, out


async def plain_main(spec: ProbeSpec) -> dict[str, Any]:
    async def run() -> Run:
        message_id = f"m-{uuid.uuid4().hex[:12]}"
        t0 = time.perf_counter()
        await plain_turn(message_id)
        return Run(message_id, None, round((time.perf_counter() - t0) * 1000, 3), "COMPLETED")

    _seq, _conc, phases = await timed_phases(run, spec, None)
    return phases


async def prefect_main(spec: ProbeSpec) -> dict[str, Any]:
    api = Api(spec.api_url)
    out: dict[str, Any] = {"logging_to_api": os.environ.get("PREFECT_LOGGING_TO_API_ENABLED", "true (default)")}
    deployment_id = await create_scheduled_deployment(api)
    turn = build_flow()
    out["first_run_ms"] = (await run_once(turn)).wall_ms  # not in the figures below
    tasks, logs = len(STEPS), len(STEPS) + 1
    probe = await run_once(turn)
    out["probe"] = await inspect_run(api, probe, wait_s=spec.wait_s, tasks=tasks, logs=logs)
    seq, conc, phases = await timed_phases(lambda: run_once(turn), spec, CpuMeter(spec))
    out.update(phases)
    out["sequential"]["visible"] = await observe(api, seq, tasks_per_run=tasks, logs_per_run=logs, wait_s=spec.wait_s)
    out["concurrent"]["visible"] = await observe(api, conc, tasks_per_run=tasks, logs_per_run=logs, wait_s=spec.wait_s)
    failed = await run_once(turn, fail_at=2)
    out["failed_run"] = await inspect_run(api, failed, wait_s=spec.wait_s, tasks=3, logs=4)
    retried = await run_once(turn, flaky_at=4)
    out["retried_run"] = await inspect_run(api, retried, wait_s=spec.wait_s, tasks=tasks, logs=logs + 1)
    flaky = next((t for t in out["retried_run"]["task_runs"] if t["name"].startswith(STEPS[4] + "[")), None)
    out["retried_task"] = {
        "found": flaky is not None,
        "run_count": flaky["run_count"] if flaky else None,
        "state": flaky["state"] if flaky else None,
        "history": await task_run_history(api, flaky["id"]) if flaky else [],
    }
    out["ops_links"] = await ops_links(api, probe)
    out["scheduler"] = {"scheduled_runs_for_interval_deployment": await scheduled_runs(api, deployment_id)}
    await api.http.aclose()
    return out


def main(argv: list[str]) -> int:
    plain = "--plain" in argv
    spec_path, out_path = (Path(a) for a in argv if not a.startswith("--"))
    spec = ProbeSpec(**json.loads(spec_path.read_text()))
    result = asyncio.run(plain_main(spec) if plain else prefect_main(spec))
    out_path.write_text(json.dumps({"spec": asdict(spec), **result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
