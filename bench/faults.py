"""The fault suite (issue 10, item 9): does every accepted message end replied, with a person, or
alarmed while the product's processes crash and its providers go away?

    .venv/bin/python bench/faults.py [--quick] [--messages N] [--window S] [--settle S] [--seed N] [--keep]

The product runs as ``glassdesk run`` (the real supervisor, runtime/supervisor.py) in a temporary
GLASSDESK_VAR_DIR on free 127.0.0.1 ports: embedded Redis, Prefect server, web, SMTP, worker, ops,
claims portal, the mail sink as SMTP relay and, as no Twilio account is set, the development SMS sink.
Traffic (tests/support/fault_traffic.py): N messages spread over the window, a third each over SMS
(signed Twilio webhooks, retried on 5xx like a provider), email (SMTP into ``glassdesk smtp``, retried
on 4xx) and chat (WS /chat/ws, resent with the same UUID), in de/en and fr it es nl pl pt tr, some
asking for a person. Each message comes from its own address, so it is its own conversation.

Faults (tests/support/fault_stack.py), at seeded times in the window:
- 5 x ``kill -9`` of the worker's process group (the supervisor restarts it);
- 1 x ``kill -9`` of the embedded Redis (restarted on the same socket, AOF everysec);
- the Prefect server stopped for 60 s, the mail sink (SMTP relay) for 70 s and the SMS sink for 70 s:
  the child is stopped with SIGTERM and the process the supervisor restarts is frozen (SIGSTOP)
  before it listens, then thawed when the outage ends; clients get "connection refused" meanwhile.
  (--quick: 2 worker kills and 20-25 s outages.)

Then the run waits (up to --settle seconds) until the product's ledger (services/ledger.py, per
message) has every stored message replied, with a person or alarmed, listens 8 s more for late
duplicates, reconnects every chat to read its history, and accounts (tests/support/fault_accounting.py):
ledger states, replies per message at the sinks (var/mail .eml, var/sms JSON, chat reply frames),
duplicates, and acceptance -> final state from the SQLite timeline/outbox timestamps.

Writes bench/results/faults.json (faults_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import hard_limit, machine, now_iso, versions, write_result

from tests.support.fault_run import Crash, Outage, Scenario, run_scenario
from tests.support.fault_stack import ChildName, SupervisedStack


def worker_kill_times(n: int, *, window_s: float, seed: int, min_gap_s: float) -> list[float]:
    """``n`` seeded times in the window, at least ``min_gap_s`` apart (a restarted worker needs ~15 s)."""
    rng = random.Random(seed)
    lo, hi = 0.05 * window_s, 0.95 * window_s
    for _ in range(10_000):
        times = sorted(rng.uniform(lo, hi) for _ in range(n))
        if all(b - a >= min_gap_s for a, b in zip(times, times[1:], strict=False)):
            return [round(t, 1) for t in times]
    step = (hi - lo) / max(1, n)
    return [round(lo + i * step, 1) for i in range(n)]


def scenario(args: argparse.Namespace) -> Scenario:
    w = args.window
    kills = worker_kill_times(
        args.worker_kills, window_s=w, seed=args.seed, min_gap_s=min(25.0, w / (args.worker_kills + 1))
    )
    faults: list[Crash | Outage] = [Crash(ChildName.WORKER, t) for t in kills]
    faults += [
        Outage(ChildName.PREFECT, round(0.12 * w, 1), args.prefect_down),
        Crash(ChildName.REDIS, round(0.45 * w, 1)),
        Outage(ChildName.MAIL_SINK, round(0.30 * w, 1), args.relay_down),
        Outage(ChildName.SMS_SINK, round(0.55 * w, 1), args.sms_down),
    ]
    return Scenario(
        messages=args.messages,
        window_s=w,
        faults=tuple(sorted(faults, key=lambda f: f.at_s)),
        settle_s=args.settle,
        seed=args.seed,
    )


def source_state() -> dict[str, Any]:
    """The commit the run's snapshot was taken from, and how many files differed from it (read-only git)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": type(exc).__name__}
    return {"head": head.stdout.strip(), "changed_files": len(dirty.stdout.splitlines())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="60 messages, 2 worker kills, 20-25 s outages")
    p.add_argument("--messages", type=int)
    p.add_argument("--window", type=float, help="seconds over which the messages are sent")
    p.add_argument("--settle", type=float, help="seconds to wait for every message to reach a final state")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database, sinks)")
    args = p.parse_args()
    quick = args.quick
    args.messages = args.messages or (60 if quick else 200)
    args.window = args.window or (75.0 if quick else 200.0)
    args.settle = args.settle or (240.0 if quick else 420.0)
    args.worker_kills = 2 if quick else 5
    args.prefect_down, args.relay_down, args.sms_down = (20.0, 25.0, 25.0) if quick else (60.0, 70.0, 70.0)
    hard_limit(int(args.window + args.settle + 900))
    plan = scenario(args)
    load_before = os.getloadavg()
    t_start = time.monotonic()
    errors: list[str] = []
    summary: dict[str, Any] = {}
    stack = SupervisedStack(keep=args.keep)
    source = source_state()
    try:
        stack.start()
        print(f"glassdesk run healthy after {stack.started_in_s:.1f} s in {stack.tmp}", flush=True)
        result = asyncio.run(run_scenario(stack, plan, run_id=secrets.token_hex(3)))
        summary = result.summary()
        messages = [f.to_json() for f in result.fates]
    except Exception as exc:  # noqa: BLE001 - partial results are still written
        errors.append(f"{type(exc).__name__}: {exc}"[:2000])
        print("error:", errors[-1], flush=True)
        messages = []
    finally:
        stack.stop()
    import signal

    signal.alarm(0)
    out = {
        "benchmark": "faults" + ("_quick" if quick else ""),
        "date": now_iso(),
        "command": "bench/faults.py " + " ".join(sys.argv[1:]),
        "machine": machine(load_before),
        "versions": versions("prefect", "redis", "aiosmtpd", "aiosmtplib", "twilio", "uvicorn", "websockets"),
        "source": source,
        "wall_s": round(time.monotonic() - t_start, 1),
        "stack_start_s": None if stack.started_in_s is None else round(stack.started_in_s, 1),
        "scenario": {
            "messages": plan.messages,
            "window_s": plan.window_s,
            "settle_s": plan.settle_s,
            "seed": plan.seed,
            "faults": [
                {
                    "child": f.child.value,
                    "at_s": f.at_s,
                    **({"down_s": f.seconds} if isinstance(f, Outage) else {"kill": "-9"}),
                }
                for f in plan.faults
            ],
        },
        "setup": (
            "`glassdesk run` (real supervisor) under a temp GLASSDESK_VAR_DIR on 127.0.0.1, default settings; "
            "the SMS sink and mail sink are the supervisor's own children; clients in the bench process "
            "on the same 2 cores."
        ),
        "method": (
            "crash = kill -9 of the child's process group; outage = SIGTERM, then the restarted process is "
            "frozen (SIGSTOP) before it listens and thawed (SIGCONT) after the outage. 'final' = the "
            "ledger classifies the message replied, person or alarm; acceptance_to_final_s = SQLite "
            "messages.created_at -> first sent outbox entry (updated_at) or handed_off/awaiting_agent/"
            "failed event caused by it; duplicates = the same reply body to the same address more than "
            "once at the mail/SMS sink, or the same reply id twice on a chat socket."
        ),
        "results": summary,
        "messages": messages,
        "errors": errors,
    }
    path = write_result(str(out["benchmark"]), out)
    print(f"wrote {path}")
    keys = (
        "sent",
        "accepted",
        "ledger",
        "unaccounted",
        "duplicated_replies",
        "acceptance_to_final_s",
        "final_after_the_ledger_bound",
        "faulted_children_not_back",
        "healthz_end",
        "cli_ledger",
    )
    for k in keys:
        if k in summary:
            print(f"{k}: {summary[k]}")


if __name__ == "__main__":
    main()
