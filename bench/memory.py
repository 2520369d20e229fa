"""Worker and web memory over many turns (issue 11: RSS after 10,000 turns, target < 400 MB each).

    .venv/bin/python bench/memory.py [--turns 10000] [--chunk 200]

Starts its own stack (as bench/turns.py: embedded Redis, demo data, the Prefect server with the
supervisor's settings, one `glassdesk web`, one `glassdesk worker`) and sends chat turns over the real
WebSocket in chunks (each chunk waits for its replies), sampling the resident set size (VmRSS, and
VmHWM, the peak) of the web and the worker process after each chunk. Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, hard_limit, machine, now_iso, running, versions, write_result
from turns import QUESTIONS, chat_turn

TARGET_MB = 400


def _mem(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


async def _chunk(stack: Stack, n: int, offset: int, *, parallel: int) -> dict[str, int]:
    gate = asyncio.Semaphore(parallel)
    statuses: dict[str, int] = {}

    async def one(i: int) -> None:
        lang, text = QUESTIONS[(offset + i) % len(QUESTIONS)]
        async with gate:
            res = await chat_turn(stack.ws_url, lang, text, timeout=120)
        statuses[res["status"]] = statuses.get(res["status"], 0) + 1

    await asyncio.gather(*(one(i) for i in range(n)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=24, help="chat sessions open at once")
    parser.add_argument("--limit", type=int, default=5400)
    args = parser.parse_args()
    hard_limit(args.limit)
    load_before = os.getloadavg()
    stack = Stack(prefect=True, web=True, worker=True)
    samples: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    t0 = time.perf_counter()
    errors: list[str] = []
    with running(stack):
        pids = {"web": stack.procs["web"].pid, "worker": stack.procs["worker"].pid}
        samples.append({"turns": 0, "s": 0.0, **{k: _mem(p) for k, p in pids.items()}})
        done = 0
        try:
            while done < args.turns:
                n = min(args.chunk, args.turns - done)
                for k, v in asyncio.run(_chunk(stack, n, done, parallel=args.parallel)).items():
                    totals[k] = totals.get(k, 0) + v
                done += n
                samples.append(
                    {"turns": done, "s": round(time.perf_counter() - t0, 1), **{k: _mem(p) for k, p in pids.items()}}
                )
                print(json.dumps(samples[-1]), flush=True)
        except Exception as exc:  # noqa: BLE001 - partial results are still written
            errors.append(f"{type(exc).__name__}: {exc}")
    last = samples[-1]
    out = {
        "benchmark": "memory",
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("prefect", "lingua-language-detector", "scikit-learn"),
        "parameters": {"turns": args.turns, "chunk": args.chunk, "parallel": args.parallel},
        "headline": {
            "turns": last["turns"],
            "statuses": totals,
            "web_rss_mb": last["web"].get("VmRSS"),
            "worker_rss_mb": last["worker"].get("VmRSS"),
            "web_peak_mb": last["web"].get("VmHWM"),
            "worker_peak_mb": last["worker"].get("VmHWM"),
            "worker_rss_at_start_mb": samples[0]["worker"].get("VmRSS"),
            "target_mb": TARGET_MB,
            "target_met": bool(
                (last["web"].get("VmRSS") or 1e9) < TARGET_MB and (last["worker"].get("VmRSS") or 1e9) < TARGET_MB
            ),
        },
        "samples": samples,
        "errors": errors,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    path = write_result("memory" if args.turns >= 10_000 else f"memory_{args.turns}", out)
    print(json.dumps(out["headline"], indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
