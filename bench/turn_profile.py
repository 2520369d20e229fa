"""CPU cost of the turn steps (composer mode, no Prefect), per step, for typical demo messages.

    .venv/bin/python bench/turn_profile.py [--rounds 30] [--label after] [--cprofile 25] [--keep-before]

In process: a temporary GLASSDESK_VAR_DIR with the demo data (``devtools.demo.load_demo``), an embedded
Redis, the real SQLite stores, the demo intent model, knowledge base and default policy, built with
``services.policy_source.build_turn_deps`` exactly as the worker builds them. Each round sends every message of
``MESSAGES`` as a new chat conversation (stored like ``Ingestor.accept`` does, not queued) and runs the
steps of ``flows.turn.run_turn`` directly (same lock and branches). Per step: wall ms and process CPU ms
(``time.process_time``; the steps are awaited one at a time, so the process CPU is the step's CPU plus
the embedded Redis client side). ``--cprofile N`` prints the top N functions by cumulative time.

Writes bench/results/turn_profile.json; the run is stored under ``--label`` ("before" / "after") so
one file holds both measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
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
from _stack import RESULTS, machine, now_iso, versions

MESSAGES = [
    ("en", "Where is my order?"),
    ("de", "Wo ist meine Bestellung?"),
    ("en", "Can I return my order?"),
    ("de", "Wie kann ich etwas zurückschicken?"),
    ("en", "I have a question about my invoice"),
    ("de", "Ich habe eine Frage zu meiner Rechnung"),
    ("en", "How long does delivery take?"),
    ("de", "Wie lange dauert der Versand?"),
    ("en", "Is water damage covered by my household insurance?"),
    ("de", "Ist ein Wasserschaden in der Hausratversicherung versichert?"),
    ("en", "I want to talk to a person"),
    ("de", "Ich möchte mit einem Menschen sprechen"),
]
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


class Timer:
    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    async def __call__(self, name: str, coro: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            return await coro
        finally:
            self.wall.setdefault(name, []).append((time.perf_counter() - w0) * 1000)
            self.cpu.setdefault(name, []).append((time.process_time() - c0) * 1000)


async def one_turn(deps: Any, message_id: str, conversation_id: str, timed: Timer) -> str:
    """``flows.turn.run_turn`` with the plain steps (same lock, same branches)."""
    from conversation import Route
    from flows import steps
    from flows.turn_work import TurnOutcome, TurnWork

    work = TurnWork(message_id=message_id, conversation_id=conversation_id)
    async with deps.services.locks.hold(conversation_id, timeout_s=300, wait_s=60):
        work = await timed("load_turn", steps.load_turn(deps, work))
        if work.outcome == TurnOutcome.ALREADY_DONE or work.human_in_charge:
            return work.outcome or TurnOutcome.HUMAN_IN_CHARGE
        work = await timed("understand_turn", steps.understand_turn(deps, work))
        work = await timed("look_up", steps.look_up(deps, work))
        work = await timed("decide", steps.decide(deps, work))
        route = Route(work.decision.route.value)
        if route is Route.HANDOFF:
            work = await timed("hand_off", steps.hand_off(deps, work, reason="policy routes to a person"))
        elif route is Route.ASK_CLARIFICATION:
            work = await timed("ask_clarification", steps.ask_clarification(deps, work))
        else:
            work = await timed("draft_reply", steps.draft_reply(deps, work))
            if work.draft is None:
                work = await timed("hand_off", steps.hand_off(deps, work, reason="no source: no automated answer"))
            elif route is Route.AUTO_REPLY and work.draft.grounded:
                work = await timed("send_reply", steps.send_reply(deps, work))
            else:
                work = await timed("await_agent", steps.await_agent(deps, work, reason="draft not grounded"))
    return work.outcome


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 3),
        "mean": round(sum(ordered) / len(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * (len(ordered) - 1)))], 3),
    }


def _understand_parts(deps: Any, rounds: int) -> dict[str, float]:
    """The pieces of ``understand()`` and the KB search alone, mean CPU microseconds per message."""
    from understanding import analyze_sentiment, asked_for_human

    parts = {
        "intent_predict": lambda t: deps.intent_model.predict(t),
        "language_detect": lambda t: deps.language_detector.detect(t),
        "sentiment": analyze_sentiment,
        "redact": lambda t: deps.redactor.redact(t),
        "asked_for_human": asked_for_human,
        "kb_search": lambda t: deps.kb.search(t, language="en", k=3),
    }
    out = {}
    for name, fn in parts.items():
        for _, text in MESSAGES:
            fn(text)  # warm
        c0 = time.process_time()
        for _ in range(rounds):
            for _, text in MESSAGES:
                fn(text)
        out[name] = round((time.process_time() - c0) * 1e3 / (rounds * len(MESSAGES)), 3)
    return out


async def run(rounds: int, profile_top: int) -> dict[str, Any]:
    from conversation import ChannelKind, ChatSession, InboundMessage
    from devtools.demo import load_demo
    from runtime.compose import open_container
    from services.policy_source import build_turn_deps
    from services.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="gd-turn-profile-"))
    settings = Settings(var_dir=tmp / "var")
    await load_demo(settings)
    timed = Timer()
    outcomes: dict[str, str] = {}
    async with open_container(settings) as services:
        deps = await build_turn_deps(services)
        deps.language_detector.warm_up()

        async def new_turn(lang: str, text: str) -> tuple[str, str]:
            res = await services.messages.ingest(
                InboundMessage(
                    channel=ChannelKind.CHAT,
                    external_id=str(uuid.uuid4()),
                    address=ChatSession(session_id=f"profile-{uuid.uuid4().hex}"),
                    text=text,
                    meta={"ui_language": lang},
                )
            )
            return res.message.id, res.conversation.id

        warm = Timer()
        for lang, text in MESSAGES:  # warm up lazy imports and caches
            outcomes[text] = await one_turn(deps, *(await new_turn(lang, text)), warm)
        turn_cpu: list[float] = []
        profiler = cProfile.Profile() if profile_top else None
        for _ in range(rounds):
            for lang, text in MESSAGES:
                refs = await new_turn(lang, text)
                c0 = time.process_time()
                if profiler:
                    profiler.enable()
                await one_turn(deps, *refs, timed)
                if profiler:
                    profiler.disable()
                turn_cpu.append((time.process_time() - c0) * 1000)
        parts = _understand_parts(deps, max(5, rounds // 3))
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(profile_top)
        print(buf.getvalue())
    if not os.environ.get("GD_BENCH_KEEP"):
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "rounds": rounds,
        "turns": len(turn_cpu),
        "turn_cpu_ms": _summary(turn_cpu),
        "steps_cpu_ms": {s: _summary(timed.cpu[s]) for s in STEPS if s in timed.cpu},
        "steps_wall_ms": {s: _summary(timed.wall[s]) for s in STEPS if s in timed.wall},
        "understand_parts_cpu_us_per_message": {k: round(v * 1000, 1) for k, v in parts.items()},
        "outcomes": outcomes,
        "cprofile": "on (adds overhead to every number)" if profiler else "off",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--label", default="after", help="key under which this run is stored (before/after)")
    ap.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the top N functions")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    load = os.getloadavg()
    result = asyncio.run(run(args.rounds, args.cprofile))
    path = RESULTS / "turn_profile.json"
    doc: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    doc.update(
        {
            "benchmark": "turn_profile",
            "method": (
                "in process, no Prefect: demo data + build_turn_deps as the worker builds them; each round "
                "sends every message as a new chat conversation and runs the steps of run_turn directly; "
                "CPU = time.process_time around each awaited step (includes the Redis/SQLite client side)"
            ),
            "messages": MESSAGES,
            "versions": versions("scikit-learn", "lingua-language-detector", "bm25s", "sqlalchemy", "aiosqlite"),
        }
    )
    doc.setdefault("runs", {})[args.label] = {"date": now_iso(), "machine": machine(load), **result}
    runs = doc["runs"]
    if "before" in runs and "after" in runs:
        doc["comparison_cpu_ms_p50"] = {
            step: {
                "before": runs["before"]["steps_cpu_ms"].get(step, {}).get("p50"),
                "after": runs["after"]["steps_cpu_ms"].get(step, {}).get("p50"),
            }
            for step in (*STEPS, "turn")
            if step != "turn"
        } | {"turn": {"before": runs["before"]["turn_cpu_ms"]["p50"], "after": runs["after"]["turn_cpu_ms"]["p50"]}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    print(
        json.dumps(
            {
                "turn_cpu_ms": result["turn_cpu_ms"],
                "steps_cpu_ms_p50": {k: v["p50"] for k, v in result["steps_cpu_ms"].items()},
                "understand_parts_us": result["understand_parts_cpu_us_per_message"],
                "outcomes": result["outcomes"],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
