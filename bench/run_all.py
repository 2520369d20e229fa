"""Run every benchmark with its quick parameters, then print one summary table.

    .venv/bin/python bench/run_all.py [--full] [--only turns,smtp_ingest] [--skip intents_banking77] [--timeout 600]

Each bench script writes its JSON to bench/results/ (``<name>_quick.json`` in quick mode, ``<name>.json``
with --full). Every script runs as a child with a wall-clock timeout (its process group is killed when it
runs over), so ``make bench`` always ends by itself. Exit status 1 if any bench failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# name, script, quick args, full args (bench/memory.py and bench/prefect_overhead.py have no quick
# mode and are run by hand: see their docstrings)
BENCHES: list[tuple[str, str, list[str], list[str]]] = [
    ("sms_webhook", "sms_webhook.py", ["--quick"], []),
    ("smtp_ingest", "smtp_ingest.py", ["--quick"], []),
    ("turns", "turns.py", ["--quick"], []),
    ("intents_banking77", "intents_banking77.py", ["--quick"], ["--no-embeddings"]),
    ("intents_oos", "intents_oos.py", ["--quick"], []),
    ("sentiment", "sentiment.py", ["--quick"], []),
    ("pii_recall", "pii_recall.py", ["--quick"], []),
    ("sms_edge", "sms_edge.py", ["--quick"], []),
    ("worker_crash", "worker_crash.py", ["--quick"], []),
    ("desk_search", "desk_search.py", ["--quick"], []),
    ("connectors", "connectors.py", ["--quick"], []),
    ("scale_out", "scale_out.py", ["--quick"], []),  # needs PostgreSQL (see its --pg-admin-dsn)
]


def _run(script: str, args: list[str], timeout: float) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        cwd=str(HERE.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        out, rc = (proc.stdout.read() if proc.stdout else ""), -9
    return rc, time.perf_counter() - t0, out or ""


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _rows(name: str, r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, goal) rows for the table."""
    rows: list[tuple[str, str, str]] = []
    if name.startswith("turns"):
        h = r.get("headline", {})
        for rate, (p50, p99) in h.get("p50_p99_ms_by_rate", {}).items():
            rows.append(
                (
                    f"turn p50/p99 ms @ {rate}/s (no reply: {h.get('no_reply_by_rate', {}).get(rate)})",
                    f"{p50} / {p99}",
                    "p50 <= 250 at idle",
                )
            )
        rows.append(("max sustained turns/s", str(h.get("max_sustained_turns_per_s")), ""))
        rows.append(("sustained, Prefect / plain runner", str(h.get("sustained_ratio_prefect_to_plain")), ">= 0.7"))
        rows.append(
            (
                "Prefect share of turn time (batch 1 / 16)",
                f"{h.get('prefect_share_batch_1')} / {h.get('prefect_share_batch_16')}",
                "<= 0.30",
            )
        )
    elif name.startswith("smtp_ingest"):
        for run in r.get("runs", []):
            tx = run.get("smtp_transaction_ms", {})
            rows.append(
                (
                    f"SMTP c={run['concurrency']}: msgs/s, tx p50/p99 ms",
                    f"{run.get('accepted_msgs_per_s')}, {tx.get('p50')} / {tx.get('p99')}",
                    "",
                )
            )
    elif name.startswith("sms_webhook"):
        for mode in r.get("modes", []):
            best = max(mode.get("runs", []), key=lambda x: x.get("msgs_per_s", 0), default={})
            rows.append(
                (
                    f"SMS webhook {mode['workers']} proc: best msgs/s (p99 ms @ {best.get('connections')} conn)",
                    f"{mode.get('best_msgs_per_s')} ({best.get('latency_ms', {}).get('p99')})",
                    ">= 1000, p99 < 50",
                )
            )
    elif name == "intents_banking77" or name == "intents_banking77_quick":
        rows.append(("Banking77 accuracy (TF-IDF)", str(r.get("accuracy")), ""))
        rows.append(("intent predict p50 ms", str(r.get("predict_ms_p50")), ""))
    else:  # the other benches: their headline, as written
        for key, value in (r.get("headline") or {}).items():
            if isinstance(value, str | int | float | bool) or value is None:
                rows.append((str(key)[:59], str(value)[:22], ""))
    load = r.get("machine", {}).get("loadavg_after") or r.get("loadavg_1m_before_and_after")
    if load:
        rows.append(("  loadavg after", str(load), ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full parameters (several minutes each)")
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--skip", default="", help="comma-separated bench names to skip")
    parser.add_argument("--timeout", type=float, default=600.0, help="per bench, seconds")
    args = parser.parse_args()
    only = {x for x in args.only.split(",") if x}
    skip = {x for x in args.skip.split(",") if x} - only
    status: list[tuple[str, int, float]] = []
    for name, script, quick, full in BENCHES:
        if (only and name not in only) or name in skip:
            continue
        print(f"== {name} ({'full' if args.full else 'quick'}) ...", flush=True)
        rc, seconds, out = _run(script, full if args.full else quick, args.timeout)
        status.append((name, rc, seconds))
        tail = "\n".join(out.strip().splitlines()[-5:])
        print(f"   exit {rc} after {seconds:.0f} s\n   " + tail.replace("\n", "\n   "), flush=True)

    print("\n" + "=" * 100)
    print(f"{'metric':<62} {'value':<22} goal")
    print("-" * 100)
    for name, rc, seconds in status:
        result_name = name if args.full else f"{name}_quick"
        r = _load(result_name)
        print(f"[{name}] exit {rc}, {seconds:.0f} s, bench/results/{result_name}.json")
        if r is None:
            print("   (no result file)")
            continue
        for metric, value, goal in _rows(name, r):
            print(f"   {metric:<59} {value:<22} {goal}")
    print("=" * 100)
    sys.exit(1 if any(rc != 0 for _n, rc, _s in status) else 0)


if __name__ == "__main__":
    main()
