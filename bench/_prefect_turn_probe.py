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

from _prefect_ui_view import (
    Api,
    Expect,
    Wait,
    count_by,
    create_scheduled_deployment,
    flow_run_page,
    observe,
    ops_links,
    scheduled_runs,
    task_run_history,
)

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


@dataclass(frozen=True)
class ProbeSpec:
    """What the orchestrator asks of one probe process."""

    api_url: str
    sequential_runs: int
    concurrent_runs: int
    concurrent_rounds: int
    wait_s: float  # the longest wait for task runs and logs to show (the lag is reported) ...
    stall_s: float  # ... but not once nothing new showed for this long (a recorder that is off)
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
    flow_run_id: str | None  # None when the API refused the run (e.g. 503 "database is locked")
    wall_ms: float
    state: str
    error: str | None = None


async def run_once(turn: Any, *, fail_at: int = -1, flaky_at: int = -1) -> Run:
    """One flow run. A run the API refuses (the worker would keep the batch and retry) is counted, not fatal."""
    message_id = f"m-{uuid.uuid4().hex[:12]}"
    t0 = time.perf_counter()
    try:
        state = await turn(message_id, fail_at=fail_at, flaky_at=flaky_at, return_state=True)
    except Exception as exc:  # noqa: BLE001 - the API's own errors are a result of this benchmark
        wall = (time.perf_counter() - t0) * 1000
        return Run(message_id, None, round(wall, 2), "API_ERROR", f"{type(exc).__name__}: {exc}"[:300])
    wall = (time.perf_counter() - t0) * 1000
    return Run(message_id, str(state.state_details.flow_run_id), round(wall, 2), str(state.type.value))


# -- phases --------------------------------------------------------------------------------------
def _errors(runs: list[Run]) -> dict[str, Any]:
    refused = [r.error for r in runs if r.error]
    return {"count": len(refused), "samples": sorted(set(refused))[:3]}


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
        "wall_ms": summary([r.wall_ms for r in seq if r.error is None]),
        "runs_per_s": round(len(seq) / seq_s, 2),
        "states": count_by(r.state for r in seq),
        "api_errors": _errors(seq),
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
        "wall_ms": summary([r.wall_ms for r in conc if r.error is None]),
        "runs_per_s": round(len(conc) / conc_s, 2),
        "states": count_by(r.state for r in conc),
        "api_errors": _errors(conc),
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


async def _page(api: Api, run: Run, spec: ProbeSpec, *, steps: int, logs: int) -> dict[str, Any]:
    if run.flow_run_id is None:
        return {"client_state": run.state, "error": run.error}
    names = {f"{step}[{run.message_id}]" for step in STEPS[:steps]}
    page = await flow_run_page(api, run.flow_run_id, _expect(steps, logs), _wait(spec), task_run_names=names)
    return {"client_state": run.state, **page}


def _expect(task_runs: int, logs: int) -> Expect:
    return Expect(task_runs=task_runs, logs=logs, log_prefixes=(STEP_LOG, FLOW_LOG))


def _wait(spec: ProbeSpec) -> Wait:
    return Wait(max_s=spec.wait_s, stall_s=spec.stall_s)


async def prefect_main(spec: ProbeSpec) -> dict[str, Any]:
    api = Api(spec.api_url)
    out: dict[str, Any] = {"logging_to_api": os.environ.get("PREFECT_LOGGING_TO_API_ENABLED", "true (default)")}
    deployment_id = await create_scheduled_deployment(api)
    turn = build_flow()
    first = await run_once(turn)  # not in the figures below
    out["first_run"] = {"wall_ms": first.wall_ms, "state": first.state, "error": first.error}
    n = len(STEPS)
    probe = await run_once(turn)
    out["probe"] = await _page(api, probe, spec, steps=n, logs=n + 1)
    seq, conc, phases = await timed_phases(lambda: run_once(turn), spec, CpuMeter(spec))
    out.update(phases)
    for name, runs in (("sequential", seq), ("concurrent", conc)):
        ids = [r.flow_run_id for r in runs if r.flow_run_id]
        out[name]["visible"] = await observe(api, ids, _expect(n, n + 1), _wait(spec))
    failed = await run_once(turn, fail_at=2)  # steps 1-2 complete, step 3 fails, the rest never run
    out["failed_run"] = await _page(api, failed, spec, steps=3, logs=4)
    retried = await run_once(turn, flaky_at=4)  # step 5 logs twice: once per attempt
    out["retried_run"] = await _page(api, retried, spec, steps=n, logs=n + 2)
    flaky = next((t for t in out["retried_run"].get("task_runs", []) if t["name"].startswith(STEPS[4] + "[")), None)
    out["retried_task"] = {
        "found": flaky is not None,
        "run_count": flaky["run_count"] if flaky else None,
        "state": flaky["state"] if flaky else None,
        "history": await task_run_history(api, flaky["id"]) if flaky else [],
    }
    out["ops_links"] = (
        await ops_links(api, flow_name=FLOW_NAME, flow_run_id=probe.flow_run_id, message_id=probe.message_id, steps=n)
        if probe.flow_run_id
        else {"error": probe.error}
    )
    out["scheduler"] = {"scheduled_runs_for_interval_deployment": await scheduled_runs(api, deployment_id)}
    await api.aclose()
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
