"""What Prefect costs per flow run of the real turn flow, in process, and what sharing the worker's
API clients saves (runtime/turn_runner.py SharedPrefectClients).

    .venv/bin/python bench/prefect_overhead.py [--runs 10] [--profile]

Starts a Prefect server with the supervisor's settings (runtime.supervisor.PREFECT_VISIBILITY_ENV),
an embedded Redis and the demo data, builds the turn flow as the worker does and runs single-turn
flow runs of an auto-replied chat question, alternating: each flow run with its own API clients (what
Prefect does by default) and with the worker's shared pair. The plain runner (the same steps without
Prefect) gives the steps' own time. ``--profile`` adds the top of a cProfile of the own-clients runs.
Writes bench/results/prefect_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
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


async def measure(tmp: Path, api: str, *, runs: int, profile: bool) -> dict[str, Any]:
    from conversation import ChannelKind, ChatSession, InboundMessage
    from conversation.rediskit import EmbeddedRedis
    from devtools.demo import load_demo
    from flows.turn import build_turn_flow
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit, open_container
    from runtime.turn_runner import SharedPrefectClients
    from services.settings import Settings

    redis = EmbeddedRedis(tmp / "redis")
    settings = Settings(var_dir=tmp / "var", redis_url=redis.start(), prefect_api_url=api)
    await load_demo(settings)
    out: dict[str, Any] = {}
    try:
        async with open_container(settings) as services:
            deps = TurnDeps(services=services, kit=await build_turn_kit(services))
            flows = {"prefect": build_turn_flow(deps), "plain": build_turn_flow(deps, orchestrated=False)}
            shared = SharedPrefectClients()

            async def one(kind: str) -> float:
                res = await services.messages.ingest(
                    InboundMessage(
                        channel=ChannelKind.CHAT,
                        external_id=str(uuid.uuid4()),
                        address=ChatSession(session_id=uuid.uuid4().hex),
                        text="Where is my order?",
                        meta={"ui_language": "en"},
                    )
                )
                t0 = time.perf_counter()
                with shared.bound():
                    await flows["plain" if kind == "plain" else "prefect"]([res.message.id], [res.conversation.id])
                return (time.perf_counter() - t0) * 1000

            times: dict[str, list[float]] = {"own_clients": [], "shared_clients": [], "plain": []}
            for _ in range(2):  # warm up: models, first flow registration
                await one("own_clients")
                await one("plain")
            prof = cProfile.Profile()
            for _round in range(2):
                for kind in ("own_clients", "shared_clients", "plain"):
                    if kind == "shared_clients" and not shared.is_open:
                        await shared.open()
                    if kind != "shared_clients" and shared.is_open:
                        await shared.aclose()
                    for _ in range(runs):
                        if profile and kind == "own_clients":
                            prof.enable()
                        times[kind].append(await one(kind))
                        if profile and kind == "own_clients":
                            prof.disable()
            await shared.aclose()
            out = {
                k: {"n": len(v), "p50_ms": round(statistics.median(v), 1), "all_ms": [round(x) for x in v]}
                for k, v in times.items()
            }
            if profile:
                text = io.StringIO()
                pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(30)
                out["profile_own_clients_top30"] = text.getvalue().splitlines()[:60]
    finally:
        redis.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="flow runs per kind per round (2 rounds)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="gd-prefect-overhead-"))
    env = {**PREFECT_VISIBILITY_ENV, "PREFECT_HOME": str(tmp / "prefect")}
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    # the bench process is the worker here: the client-side settings the supervisor gives it
    os.environ.update({k: v for k, v in env.items() if k.startswith(("PREFECT_LOGGING", "PREFECT_RESULTS"))})
    os.environ.update({"PREFECT_API_URL": api, "PREFECT_LOGGING_LEVEL": "WARNING"})
    with prefect_server(port, env):
        result = asyncio.run(measure(tmp, api, runs=args.runs, profile=args.profile))
    own, shared, plain = (result[k]["p50_ms"] for k in ("own_clients", "shared_clients", "plain"))
    out = {
        "benchmark": "prefect_overhead",
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("prefect", "httpx"),
        "method": "single-turn flow runs of an auto-replied chat question, in process, alternating kinds in 2 rounds",
        "headline": {
            "flow_run_p50_ms_own_clients": own,
            "flow_run_p50_ms_shared_clients": shared,
            "plain_steps_p50_ms": plain,
            "prefect_ms_per_flow_run_shared": round(shared - plain, 1),
            "saved_by_shared_clients_ms": round(own - shared, 1),
        },
        **result,
    }
    path = write_result("prefect_overhead", out)
    print(out["headline"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
