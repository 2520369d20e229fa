"""Scale-out, shown (issue 11, item 3): the system of record and the Prefect server on PostgreSQL, two
``glassdesk web`` and first one, then two ``glassdesk worker`` processes on one Redis, under real
inbound traffic over HTTP.

    .venv/bin/python bench/scale_out.py [--quick] [--conversations N] [--messages M] [--keep]
        [--pg-admin-dsn postgresql://glassdesk_bench:glassdesk_bench@127.0.0.1:5432/postgres]

Needs a PostgreSQL on 127.0.0.1 and a role with CREATEDB (``GD_SCALE_PG_ADMIN_DSN`` or --pg-admin-dsn);
two fresh databases are created for the run and dropped after it. The stack (bench/_scale_stack.py) is
made of the project's own commands with the supervisor's Prefect environment: the embedded Redis,
``glassdesk demo load``, ``prefect server start`` (PREFECT_API_DATABASE_CONNECTION_URL on PostgreSQL),
``glassdesk sms-sink``, ``glassdesk web`` x 2 on two ports and ``glassdesk worker`` x 1, then x 2.

Each phase (1 worker, then 2 workers) sends N new conversations with M messages each
(bench/_scale_traffic.py): SMS conversations post their messages back to back as signed Twilio
webhooks, alternating between the two webs; chat conversations send over a socket on one web and
receive the replies on a socket on the other. The phase ends when every accepted message has finished
its turn in the system of record, plus a few seconds for late duplicates. Then (bench/_scale_records.py):
turns per worker (from each worker's own log), overlapping turns of one conversation (from the
store's events and from the workers' step lines), duplicate replies (store, SMS provider calls per
outbox entry, chat frames) and throughput. CPU seconds per process and the machine's busy share are
recorded, since both workers share the same 2 cores with PostgreSQL, Prefect, the webs and the client.

Writes bench/results/scale_out.json (scale_out_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scale_records import account, build_turns, fetch_records, sms_sink_calls, worker_lines
from _scale_stack import ADMIN_DSN_ENV, DEFAULT_ADMIN_DSN, ScaleStack
from _scale_traffic import Conversation, Driver, plan
from _stack import hard_limit, now_iso, versions, write_result


# -- CPU accounting from /proc (Linux) ------------------------------------------------------------------
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by every process in each process group."""
    out = dict.fromkeys(pgids, 0.0)
    by_pgid = {v: k for k, v in pgids.items()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = by_pgid.get(int(fields[2]))  # fields after the command: state ppid pgrp ...
        if name is not None:
            out[name] += (int(fields[11]) + int(fields[12])) / _clock_ticks()
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return float(sum(parts) - idle), float(sum(parts))


def postgres_cpu_s() -> float:
    """CPU seconds of every postgres process (the server is not our child; all databases count)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _clock_ticks()
    return total


# -- a phase -----------------------------------------------------------------------------------------------
async def wait_finished(stack: ScaleStack, external_ids: list[str], *, timeout_s: float) -> dict[str, Any]:
    """Poll the store until every one of these messages is stored and has finished its turn (in the
    event loop, so Ctrl-C and the hard limit stop it at once)."""
    import asyncpg

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(stack.pg.url_for(stack.sor_db, driver="postgresql"))
        try:
            row = await conn.fetchrow(
                "select count(*) as stored, count(*) filter (where exists (select 1 from events e where "
                "e.causation_id = m.id and e.type in ('sent', 'handed_off', 'awaiting_agent'))) as done "
                "from messages m where m.direction = 'inbound' and m.external_id = any($1::text[])",
                external_ids,
            )
            return int(row["stored"]), int(row["done"])
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout_s
    stored = done = 0
    while time.monotonic() < deadline:
        stored, done = await count()
        if stored == len(external_ids) and done == stored:
            return {"finished": True, "stored": stored, "done": done}
        dead = stack.check_running()
        if dead:
            return {"finished": False, "stored": stored, "done": done, "exited": dead}
        await asyncio.sleep(1.0)
    return {"finished": False, "stored": stored, "done": done, "timeout_s": timeout_s}


def run_phase(
    stack: ScaleStack, conversations: list[Conversation], *, concurrency: int, settle_s: float, timeout_s: float
) -> dict[str, Any]:
    pgids = {p.name: p.proc.pid for p in stack.procs.values() if p.alive() and p.name != "redis"}
    pgids["redis"] = stack.procs["redis"].proc.pid
    cpu0, busy0, pg0 = group_cpu_s(pgids), machine_busy(), postgres_cpu_s()
    client0 = os.times()
    t0_ms = int(time.time() * 1000)
    load_before = [round(x, 2) for x in os.getloadavg()]
    driver = Driver(stack.web_urls, stack.public_url, concurrency=concurrency)
    t0 = time.time()
    asyncio.run(_send_then_keep_listening(driver, conversations, stack, timeout_s=timeout_s, settle_s=settle_s))
    wall = time.time() - t0
    cpu1, busy1, pg1 = group_cpu_s(pgids), machine_busy(), postgres_cpu_s()
    client1 = os.times()
    external_ids = [m.client_id for c in conversations for m in c.messages if m.accepted_wall is not None]
    records = fetch_records(stack.pg.url_for(stack.sor_db, driver="postgresql"), external_ids)
    logs = {w.name: w.log for w in stack.workers}
    turns = build_turns(records, worker_lines(logs))
    numbers = {c.address for c in conversations if c.kind == "sms"}
    result = account(conversations, records, turns, sms_sink_calls(stack.sms_dir, numbers))
    result["workers"] = [w.name for w in stack.workers if w.alive()]
    # every accepted message is queued once; the rest are turns a worker found its conversation busy
    # with (the lease held by a turn of the same conversation) and queued again instead of waiting
    result["prefect_runs"] = prefect_runs(stack, since=t0)
    queued = stream_entries(stack, {r["id"] for r in records["inbound"]}, since_ms=t0_ms)
    result["turn_queue"] = {
        "entries": sum(queued.values()),
        "requeued_busy_conversation": sum(n - 1 for n in queued.values() if n > 1),
        "turns_requeued_at_least_once": sum(1 for n in queued.values() if n > 1),
    }
    result["wait"] = driver.wait_result
    result["cpu_s"] = {
        **{k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
        "postgres (all backends)": round(pg1 - pg0, 2),
        "bench client": round((client1.user + client1.system) - (client0.user + client0.system), 2),
    }
    result["machine_busy_share"] = round((busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1]), 3)
    result["phase_wall_s"] = round(wall, 2)
    result["loadavg_before"] = load_before
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


async def _send_then_keep_listening(
    driver: Driver, conversations: list[Conversation], stack: ScaleStack, *, timeout_s: float, settle_s: float
) -> None:
    await driver.send(conversations)
    ids = [m.client_id for c in conversations for m in c.messages if m.accepted_wall is not None]
    driver.wait_result = await wait_finished(stack, ids, timeout_s=timeout_s)
    await asyncio.sleep(settle_s)  # late duplicates would show up in this window
    await driver.finish(conversations)


def prefect_runs(stack: ScaleStack, *, since: float) -> dict[str, Any]:
    """Flow runs and task runs of the ``turns`` flow the Prefect server recorded since ``since`` (its
    PostgreSQL database; task runs arrive through the task-run recorder, about a second late)."""
    import asyncpg

    async def get() -> dict[str, Any]:
        conn = await asyncpg.connect(stack.pg.url_for(stack.prefect_db, driver="postgresql"))
        try:
            flows = await conn.fetchrow(
                "select count(*) as n, count(*) filter (where fr.state_type = 'COMPLETED') as completed "
                "from flow_run fr join flow f on f.id = fr.flow_id where f.name = 'turns' and fr.created >= to_timestamp($1)",
                since,
            )
            tasks = await conn.fetchval(
                "select count(*) from task_run tr join flow_run fr on fr.id = tr.flow_run_id "
                "where fr.created >= to_timestamp($1)",
                since,
            )
            return {
                "flow_runs": int(flows["n"]),
                "flow_runs_completed": int(flows["completed"]),
                "task_runs": int(tasks),
            }
        except asyncpg.PostgresError as exc:  # Prefect's schema is its own: report rather than fail the run
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            await conn.close()

    time.sleep(2.0)  # the task-run recorder flushes every second
    return asyncio.run(get())


def stream_entries(
    stack: ScaleStack, message_ids: set[str], *, since_ms: int, stream: str = "gd:turns"
) -> Counter[str]:
    """How often each of these messages was put on the turn stream since ``since_ms`` (entry ids are
    millisecond timestamps; acked entries stay on the stream until it is trimmed)."""
    import redis

    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    counts: Counter[str] = Counter()
    try:
        start = f"{since_ms}-0"
        while True:
            batch = cast(list[tuple[str, dict[str, str]]], client.xrange(stream, min=start, max="+", count=1000))
            for _entry_id, fields in batch:
                if fields.get("message_id") in message_ids:
                    counts[fields["message_id"]] += 1
            if len(batch) < 1000:
                return counts
            last_ms, last_seq = batch[-1][0].split("-")
            start = f"{last_ms}-{int(last_seq) + 1}"
    finally:
        client.close()


def warm_up(stack: ScaleStack, *, seed: int) -> dict[str, Any]:
    """A few turns until every live worker has run one (model loads, first Prefect flow run)."""
    rounds = 0
    for rounds in range(1, 7):
        convs = plan(4, 1, chat_share=0.25, seed=seed * 100 + rounds)
        driver = Driver(stack.web_urls, stack.public_url, concurrency=4)
        asyncio.run(_send_then_keep_listening(driver, convs, stack, timeout_s=120, settle_s=0))
        ran = {w for per in worker_lines({w.name: w.log for w in stack.workers}).values() for w in per}
        if all(w.name in ran for w in stack.workers):
            break
    return {"rounds": rounds}


def pg_settings(stack: ScaleStack) -> dict[str, str]:
    import asyncpg

    async def get() -> dict[str, str]:
        conn = await asyncpg.connect(stack.pg.dsn)
        try:
            names = ("server_version", "max_connections", "shared_buffers", "synchronous_commit", "fsync")
            return {n: str(await conn.fetchval(f"show {n}")) for n in names}
        finally:
            await conn.close()

    return asyncio.run(get())


def redis_version(stack: ScaleStack) -> str:
    import redis

    client = redis.Redis.from_url(stack.redis_url)
    try:
        return str(client.info("server").get("redis_version"))
    finally:
        client.close()


def safe_prefect_env(stack: ScaleStack) -> dict[str, str]:
    """The Prefect settings every child got, without secrets (auth strings, database passwords)."""
    out = {}
    for k, v in sorted(stack.env().items()):
        if not k.startswith("PREFECT_"):
            continue
        if "AUTH" in k:
            v = "***"
        elif "CONNECTION_URL" in k:
            v = v.split("://")[0] + "://…@" + v.rsplit("@", 1)[-1]
        elif k == "PREFECT_HOME" or k == "PREFECT_API_URL":
            v = "(per run)"
        out[k] = v
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="16 conversations x 3 messages per phase")
    p.add_argument("--conversations", type=int)
    p.add_argument("--messages", type=int, help="messages per conversation")
    p.add_argument("--chat-share", type=float, default=0.3, help="share of chat conversations (the rest SMS)")
    p.add_argument("--concurrency", type=int, default=24, help="conversations sending at once")
    p.add_argument("--settle", type=float, default=6.0, help="seconds to listen for late duplicates")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--pg-admin-dsn", default=os.environ.get(ADMIN_DSN_ENV, DEFAULT_ADMIN_DSN))
    p.add_argument("--keep", action="store_true", help="keep the databases, logs and sink files")
    args = p.parse_args()
    n = args.conversations or (16 if args.quick else 100)
    m = args.messages or (3 if args.quick else 4)
    hard_limit(1800 if not args.quick else 900)
    load_start = [round(x, 2) for x in os.getloadavg()]
    stack = ScaleStack(admin_dsn=args.pg_admin_dsn, webs=2, keep=args.keep)
    result: dict[str, Any] = {
        "bench": "scale_out",
        "issue": "11.3",
        "at": now_iso(),
        "config": {
            "conversations_per_phase": n,
            "messages_per_conversation": m,
            "chat_share": args.chat_share,
            "concurrency": args.concurrency,
            "webs": 2,
            "seed": args.seed,
        },  # fmt: skip
        "phases": {},
    }
    try:
        stack.start()
        result["stack_timings_s"] = dict(stack.timings)
        stack.add_worker()
        result["warm_up_1"] = warm_up(stack, seed=args.seed)
        result["phases"]["1_worker"] = run_phase(
            stack, plan(n, m, chat_share=args.chat_share, seed=args.seed), concurrency=args.concurrency,
            settle_s=args.settle, timeout_s=600,
        )  # fmt: skip
        stack.add_worker()
        result["warm_up_2"] = warm_up(stack, seed=args.seed + 1)
        result["phases"]["2_workers"] = run_phase(
            stack, plan(n, m, chat_share=args.chat_share, seed=args.seed + 1), concurrency=args.concurrency,
            settle_s=args.settle, timeout_s=600,
        )  # fmt: skip
        result["log_counts"] = stack.log_counts()
        result["prefect_env"] = safe_prefect_env(stack)
        result["postgres"] = pg_settings(stack)
        result["redis_version"] = redis_version(stack)
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:3000]
        result["log_counts"] = stack.log_counts()
        raise
    finally:
        stack.stop()
        result["verdict"] = verdict(result)
        result["versions"] = versions("prefect", "sqlalchemy", "asyncpg", "redis", "uvicorn", "fastapi", "alembic")
        result["machine"] = {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": load_start,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "shared 2-core machine, other jobs running; loadavg is (1, 5, 15) minutes; every process "
            "of the stack, PostgreSQL and the load generator share these cores",
        }
        result["source"] = _source_state()
        path = write_result("scale_out_quick" if args.quick else "scale_out", result)
        print(f"wrote {path}")
        print(_summary(result))


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    two = result["phases"].get("2_workers")
    one = result["phases"].get("1_worker")
    if not two or not one:
        return {"complete": False}
    per_worker = two["turns_per_worker"]
    t1 = one["throughput"]["turns_per_s_sustained_p10_p90"]
    t2 = two["throughput"]["turns_per_s_sustained_p10_p90"]
    return {
        "complete": True,
        "all_turns_finished": all(ph["turns_finished"] == ph["messages_accepted"] for ph in (one, two)),
        "turns_spread_over_both_workers": len(
            [k for k, v in per_worker.items() if "+" not in k and k != "none" and v > 0]
        )
        >= 2,
        "no_conversation_run_by_two_workers_at_once": all(
            ph[k]["overlapping_pairs"] == 0 for ph in (one, two) for k in ("overlap_sor_events", "overlap_worker_logs")
        ),
        "duplicate_replies": sum(ph["duplicates"]["total_duplicate_replies"] for ph in (one, two)),
        "turns_per_s_1_worker": t1,
        "turns_per_s_2_workers": t2,
        "speedup_2_over_1": round(t2 / t1, 2) if t1 and t2 else None,
    }


def _source_state() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": type(exc).__name__}
    return {"head": head.stdout.strip(), "changed_files": len(dirty.stdout.splitlines())}


def _summary(result: dict[str, Any]) -> str:
    lines = []
    for name, ph in result.get("phases", {}).items():
        th = ph["throughput"]
        lines.append(
            f"{name}: {ph['turns_finished']}/{ph['messages_accepted']} turns, per worker {ph['turns_per_worker']}, "
            f"{th['turns_per_s_sustained_p10_p90']} turns/s sustained ({th['turns_per_s_first_accept_to_last_done']} "
            f"overall), overlaps {ph['overlap_sor_events']['overlapping_pairs']}/"
            f"{ph['overlap_worker_logs']['overlapping_pairs']}, duplicates "
            f"{ph['duplicates']['total_duplicate_replies']}, busy {ph['machine_busy_share']}"
        )
    lines.append(f"verdict: {result.get('verdict')}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
