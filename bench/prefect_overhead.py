"""What Prefect costs per turn of the real turn flow, in process: a flow run per batch (with its own
API clients, and with the worker's shared pair: runtime/turn_runner.py SharedPrefectClients), and the
worker's default, batches inside one open flow run (flows/turn_session.py).

    .venv/bin/python bench/prefect_overhead.py [--runs 10] [--batch 1] [--profile]

Starts a Prefect server with the supervisor's settings (runtime.supervisor.PREFECT_VISIBILITY_ENV),
an embedded Redis and the demo data, builds the turn flow as the worker does and runs single-turn
runs of ``--batch`` auto-replied chat questions, alternating kinds: a flow run with its own API
clients (what Prefect does by default), with the worker's shared pair, the batch sent into an open
session, and the plain runner (the same steps without Prefect: the steps' own time). Wall time and
this process's CPU time are both reported (CPU is what limits a worker on a busy machine). Logging is
set up as in the worker (INFO, Prefect's API handler, runtime/prefect_logs.py). ``--profile`` adds the
top of a cProfile of the session runs. Writes bench/results/prefect_overhead[_b<batch>].json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _stack import machine, now_iso, versions, write_result

from runtime.supervisor import PREFECT_VISIBILITY_ENV
from tests.support.prefect_server import free_port, prefect_server


async def measure(tmp: Path, api: str, *, runs: int, batch: int, profile: bool) -> dict[str, Any]:
    from conversation import ChannelKind, ChatSession, InboundMessage
    from conversation.rediskit import EmbeddedRedis
    from devtools.demo import load_demo
    from flows.turn import build_turn_batch, build_turn_flow
    from flows.turn_session import TurnSession
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit, open_container
    from runtime.prefect_logs import keep_plain_log_output
    from runtime.turn_runner import SharedPrefectClients
    from services.settings import Settings, configure_logging

    redis = EmbeddedRedis(tmp / "redis")
    settings = Settings(var_dir=tmp / "var", redis_url=redis.start(), prefect_api_url=api)
    await load_demo(settings)
    logging.getLogger().handlers.clear()  # the Prefect server helper set Prefect's console handler up already
    configure_logging(settings)  # as the worker: INFO, one plain handler, Prefect's API handler on its loggers
    keep_plain_log_output()
    out: dict[str, Any] = {}
    try:
        async with open_container(settings) as services:
            deps = TurnDeps(services=services, kit=await build_turn_kit(services))
            flows = {"prefect": build_turn_flow(deps), "plain": build_turn_flow(deps, orchestrated=False)}
            shared = SharedPrefectClients()
            session = TurnSession(build_turn_batch(deps), worker="bench", max_turns=10**9, max_age_s=1e9)

            async def one(kind: str) -> tuple[float, float]:
                refs = []
                for _ in range(batch):
                    res = await services.messages.ingest(
                        InboundMessage(
                            channel=ChannelKind.CHAT,
                            external_id=str(uuid.uuid4()),
                            address=ChatSession(session_id=uuid.uuid4().hex),
                            text="Where is my order?",
                            meta={"ui_language": "en"},
                        )
                    )
                    refs.append((res.message.id, res.conversation.id))
                ids, convs = [m for m, _ in refs], [c for _, c in refs]
                t0, c0 = time.perf_counter(), time.process_time()
                with contextlib.nullcontext() if kind == "own_clients" else shared.bound():
                    if kind == "session":
                        out = await session.run(ids, convs)
                    else:
                        out = await flows["plain" if kind == "plain" else "prefect"](ids, convs)
                assert set(out.values()) == {"auto_replied"}, out
                return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000

            kinds = ("own_clients", "shared_clients", "session", "plain")
            times: dict[str, list[float]] = {k: [] for k in kinds}
            cpu: dict[str, list[float]] = {k: [] for k in kinds}
            await shared.open()  # open throughout: the session's flow run holds the clients it started with
            with shared.bound():
                await session.open()
            for _ in range(2):  # warm up: models, first flow registration
                await one("own_clients")
                await one("plain")
                await one("session")
            prof = cProfile.Profile()
            for _round in range(2):
                for kind in kinds:
                    for _ in range(runs):
                        if profile and kind == "session":
                            prof.enable()
                        wall, used = await one(kind)
                        if profile and kind == "session":
                            prof.disable()
                        times[kind].append(wall)
                        cpu[kind].append(used)
            with shared.bound():
                await session.close()
            await shared.aclose()
            out = {
                k: {
                    "n": len(v),
                    "turns_per_run": batch,
                    "p50_ms": round(statistics.median(v), 1),
                    "cpu_p50_ms": round(statistics.median(cpu[k]), 1),
                    "all_ms": [round(x) for x in v],
                }
                for k, v in times.items()
            }
            if profile:
                text = io.StringIO()
                pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(30)
                out["profile_session_top30"] = text.getvalue().splitlines()[:60]
    finally:
        redis.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="flow runs per kind per round (2 rounds)")
    parser.add_argument("--batch", type=int, default=1, help="turns per flow run / per batch")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="gd-prefect-overhead-"))
    env = {**PREFECT_VISIBILITY_ENV, "PREFECT_HOME": str(tmp / "prefect")}
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    # the bench process is the worker here: the client-side settings the supervisor gives it
    os.environ.update({k: v for k, v in env.items() if k.startswith(("PREFECT_LOGGING", "PREFECT_RESULTS"))})
    os.environ.update({"PREFECT_API_URL": api})
    with prefect_server(port, env):
        result = asyncio.run(measure(tmp, api, runs=args.runs, batch=args.batch, profile=args.profile))
    own, shared, sess, plain = (result[k]["p50_ms"] for k in ("own_clients", "shared_clients", "session", "plain"))
    cpu_shared, cpu_sess, cpu_plain = (result[k]["cpu_p50_ms"] for k in ("shared_clients", "session", "plain"))
    b = args.batch
    out = {
        "benchmark": "prefect_overhead",
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("prefect", "httpx"),
        "method": f"runs of {b} auto-replied chat question(s), in process, alternating kinds in 2 rounds; "
        "CPU = this process's CPU time per run (the Prefect server's own CPU is not included)",
        "headline": {
            "turns_per_run": b,
            "flow_run_p50_ms_own_clients": own,
            "flow_run_p50_ms_shared_clients": shared,
            "session_p50_ms": sess,
            "plain_steps_p50_ms": plain,
            "prefect_ms_per_turn_session": round((sess - plain) / b, 1),
            "prefect_ms_per_turn_per_batch_shared": round((shared - plain) / b, 1),
            "cpu_ms_per_turn": {
                "session": round(cpu_sess / b, 1),
                "per_batch_shared": round(cpu_shared / b, 1),
                "plain": round(cpu_plain / b, 1),
            },
            "cpu_ratio_plain_to_session": round(cpu_plain / cpu_sess, 3) if cpu_sess else None,
            "saved_by_shared_clients_ms": round(own - shared, 1),
        },
        **result,
    }
    path = write_result("prefect_overhead" + (f"_b{b}" if b != 1 else ""), out)
    print(out["headline"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
