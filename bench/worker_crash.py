"""How long a customer waits when the worker dies mid-turn (issue 10: no message waits more than 60 s
after a worker crash).

    .venv/bin/python bench/worker_crash.py [--quick] [--crashes 3] [--rate 2]

Starts its own stack (embedded Redis, demo data, the Prefect server with the supervisor's settings,
`glassdesk web`, `glassdesk worker`). Chat turns arrive at ``--rate`` per second, each in a new session,
over the real WebSocket. Every ``--every`` seconds the worker is killed with SIGKILL while turns are in
flight and started again after 1 s, as `glassdesk run`'s supervisor does (its first backoff step).
Reported per crash: the turns in flight or sent while the worker was down, and their send -> reply
times; the headline is the longest wait of any message sent around a crash, and whether every
message got exactly one reply.

Writes bench/results/worker_crash.json (worker_crash_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import BIN, Stack, hard_limit, machine, now_iso, running, summary_ms, versions, write_result
from turns import QUESTIONS, chat_turn

BOUND_S = 60.0


def kill_and_restart(stack: Stack, *, down_s: float) -> dict[str, float]:
    proc = stack.procs["worker"]
    t_kill = time.perf_counter()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(down_s)
    stack._spawn("worker", [str(BIN / "glassdesk"), "worker"], stack.env())
    return {"t_kill": t_kill, "t_restart": time.perf_counter()}


async def traffic(stack: Stack, *, rate: float, duration: float, timeout: float) -> list[dict[str, Any]]:
    start = time.perf_counter()
    tasks = []
    i = 0
    while time.perf_counter() - start < duration:
        lang, text = QUESTIONS[i % len(QUESTIONS)]
        tasks.append(asyncio.create_task(chat_turn(stack.ws_url, lang, text, timeout=timeout)))
        i += 1
        await asyncio.sleep(1 / rate)
    return list(await asyncio.gather(*tasks))


async def run(stack: Stack, *, rate: float, crashes: int, every: float, timeout: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    kills: list[dict[str, float]] = []

    async def crasher() -> None:
        for _ in range(crashes):
            await asyncio.sleep(every)
            kills.append(await loop.run_in_executor(None, lambda: kill_and_restart(stack, down_s=1.0)))

    duration = every * (crashes + 1)
    turns, _ = await asyncio.gather(traffic(stack, rate=rate, duration=duration, timeout=timeout), crasher())
    return {"turns": turns, "kills": kills}


def _replies_per_inbound(db_path: Path) -> dict[str, int]:
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute(
            "SELECT i.id, (SELECT COUNT(*) FROM messages o WHERE o.conversation_id = i.conversation_id "
            "AND o.direction = 'outbound') FROM messages i WHERE i.direction = 'inbound'"
        ).fetchall()
    finally:
        db.close()
    counts: dict[str, int] = {}
    for _mid, n in rows:
        counts[str(n)] = counts.get(str(n), 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one crash, 1 turn/s")
    parser.add_argument("--crashes", type=int, default=3)
    parser.add_argument("--every", type=float, default=45.0, help="seconds between crashes")
    parser.add_argument("--rate", type=float, default=2.0, help="new chat turns per second")
    parser.add_argument("--timeout", type=float, default=180.0, help="per-turn wait for the reply")
    parser.add_argument("--limit", type=int, default=900)
    args = parser.parse_args()
    if args.quick:
        args.crashes, args.every, args.rate = 1, 30.0, 1.0
    hard_limit(args.limit)
    load_before = os.getloadavg()
    stack = Stack(prefect=True, web=True, worker=True)
    t_begin = time.perf_counter()
    errors: list[str] = []
    result: dict[str, Any] = {}
    with running(stack):
        try:
            asyncio.run(chat_turn(stack.ws_url, "en", "Where is my order?", timeout=90))  # warm up
            result = asyncio.run(
                run(stack, rate=args.rate, crashes=args.crashes, every=args.every, timeout=args.timeout)
            )
            time.sleep(3)
            replies = _replies_per_inbound(stack.db_path)
        except Exception as exc:  # noqa: BLE001 - partial results are still written
            errors.append(f"{type(exc).__name__}: {exc}")
            replies = {}
        logs = stack.log_counts()
    turns, kills = result.get("turns", []), result.get("kills", [])
    per_crash = []
    for k in kills:
        # a turn is affected when it was sent before the kill and not answered by then, or sent while
        # the worker was being replaced (until 30 s after the restart: the new worker's start-up)
        affected = [
            t
            for t in turns
            if "t_send" in t
            and t["t_send"] <= k["t_restart"] + 30
            and (t.get("turn_ms") is None or t["t_send"] + t["turn_ms"] / 1000 >= k["t_kill"])
        ]
        waits = [t["turn_ms"] / 1000 for t in affected if t.get("turn_ms") is not None]
        per_crash.append(
            {
                "affected_turns": len(affected),
                "answered": len(waits),
                "unanswered": len(affected) - len(waits),
                "wait_ms": summary_ms([w * 1000 for w in waits]),
            }
        )
    statuses: dict[str, int] = {}
    for t in turns:
        statuses[t["status"]] = statuses.get(t["status"], 0) + 1
    all_waits = [t["turn_ms"] / 1000 for t in turns if t.get("turn_ms") is not None]
    worst = max(all_waits) if all_waits else None
    out = {
        "benchmark": "worker_crash" + ("_quick" if args.quick else ""),
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("prefect", "redis", "sqlalchemy"),
        "parameters": {"crashes": args.crashes, "every_s": args.every, "rate_per_s": args.rate, "restart_after_s": 1},
        "settings": {
            "GLASSDESK_TURN_MIN_IDLE_MS": "default (20000): a dead worker's entries are reclaimed after this",
            "lease_s": "default 15 s: a dead worker's conversation lease lapses after this",
        },
        "headline": {
            "turns": len(turns),
            "statuses": statuses,
            "longest_wait_s": round(worst, 2) if worst is not None else None,
            "longest_wait_after_a_crash_s": max(
                (pc["wait_ms"].get("max", 0) / 1000 for pc in per_crash if pc["answered"]), default=None
            ),
            "bound_s": BOUND_S,
            "bound_met": bool(
                worst is not None and worst <= BOUND_S and statuses.get("replied", 0) == len(turns) and turns
            ),
            "outbound_per_inbound": replies,
        },
        "per_crash": per_crash,
        "all_turns_ms": summary_ms([w * 1000 for w in all_waits]),
        "server_log_counts": logs,
        "errors": errors,
        "wall_s": round(time.perf_counter() - t_begin, 1),
    }
    path = write_result(out["benchmark"], out)
    print(json.dumps(out["headline"], indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
