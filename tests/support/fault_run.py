"""One fault run: traffic over the three channels while faults hit the supervised product, then the
wait until the ledger has every message in a final state, and the accounting.

Used by ``bench/faults.py`` (the benchmark) and ``tests/faults/`` (the short test)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.ledger import LedgerState
from tests.support.fault_accounting import MessageFate, account, ledger_probe, percentiles, read_sinks
from tests.support.fault_stack import BIN, ChildName, FaultRecord, SupervisedStack, wait_until
from tests.support.fault_traffic import Channel, CustomerMessage, Traffic, TrafficTargets, plan_messages

__all__ = ["Crash", "Outage", "Scenario", "RunResult", "run_scenario"]

_LOG_PATTERNS = (
    "Traceback",
    "database is locked",
    "dead-lettered",
    "marked ambiguous",
    "queued again",
    "not stored",
    "could not",
    "unavailable",
    "OutcomeUnknown",
    "outcome unknown",
)


@dataclass(frozen=True, slots=True)
class Crash:
    child: ChildName
    at_s: float


@dataclass(frozen=True, slots=True)
class Outage:
    child: ChildName
    at_s: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Scenario:
    messages: int
    window_s: float  # the messages are sent over this many seconds
    faults: tuple[Crash | Outage, ...]
    settle_s: float  # after the last message and fault: how long to wait for every message to be final
    seed: int = 7
    quiet_s: float = 8.0  # after everything is final: keep listening this long for late duplicates
    healthy_within_s: float = 150.0


@dataclass
class RunResult:
    scenario: Scenario
    messages: list[CustomerMessage]
    faults: list[FaultRecord]
    fates: list[MessageFate]
    ledger_timeline: list[dict[str, Any]] = field(default_factory=list)
    settled_after_s: float | None = None  # from the last send until every stored message was final
    first_quiet_after_s: float | None = None  # from the last send until nothing was in progress
    health_end: tuple[int, dict[str, Any]] = (0, {})
    healthy_after_s: float | None = None
    supervisor_end: dict[str, Any] | None = None
    cli_ledger: dict[str, Any] = field(default_factory=dict)
    log_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    ledger_bound_s: float = 120.0

    # -- figures -----------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        c = Counter(f.state.value if f.state else "not_stored" for f in self.fates)
        return {s.value: c.get(s.value, 0) for s in LedgerState} | {"not_stored": c.get("not_stored", 0)}

    @property
    def accepted(self) -> int:
        return sum(1 for m in self.messages if m.accepted)

    @property
    def unaccounted(self) -> list[MessageFate]:
        return [
            f
            for f in self.fates
            if f.msg.accepted and f.state not in {LedgerState.REPLIED, LedgerState.PERSON, LedgerState.ALARM}
        ]

    @property
    def duplicated(self) -> list[MessageFate]:
        return [f for f in self.fates if f.duplicates]

    def faults_not_back(self) -> list[FaultRecord]:
        return [r for r in self.faults if r.new_pid is None or r.new_pid == r.old_pid or r.back_after_s is None]

    def summary(self) -> dict[str, Any]:
        fates = self.fates
        final_s = [s for f in fates if (s := f.final_s) is not None]
        bound = self.ledger_bound_s
        by_channel = {}
        for ch in Channel:
            group = [f for f in fates if f.msg.channel is ch]
            by_channel[ch.value] = {
                "sent": len(group),
                "accepted": sum(1 for f in group if f.msg.accepted),
                "states": dict(Counter(f.state.value if f.state else "not_stored" for f in group)),
                "final_s": percentiles([s for f in group if (s := f.final_s) is not None]),
                "with_a_reply_at_the_sink": sum(1 for f in group if f.deliveries),
                "duplicates": sum(f.duplicates for f in group),
            }
        first_reply = [
            min(d.at for d in f.deliveries) - f.msg.accepted_wall
            for f in fates
            if f.deliveries and f.msg.accepted_wall is not None
        ]
        chats = [f for f in fates if f.msg.channel is Channel.CHAT and f.msg.accepted]
        return {
            "sent": len(self.messages),
            "accepted": self.accepted,
            "client_gave_up": [f.msg.index for f in fates if f.msg.error],
            "client_retries": sum(max(0, m.attempts - 1) for m in self.messages),
            "stored": sum(1 for f in fates if f.message_id),
            "ledger": self.counts(),
            "final_kind": dict(Counter(f.final_kind or "none" for f in fates)),
            "unaccounted": len(self.unaccounted),
            "unaccounted_messages": [f.to_json() for f in self.unaccounted][:40],
            "duplicated_replies": sum(f.duplicates for f in fates),
            "duplicated_messages": [f.to_json() for f in self.duplicated][:40],
            "multiple_distinct_replies": sum(1 for f in fates if len({d.key for d in f.deliveries}) > 1),
            "no_reply_at_sink": sum(1 for f in fates if f.msg.accepted and not f.deliveries),
            "replied_in_ledger_but_not_at_sink": [
                f.msg.index for f in fates if f.state is LedgerState.REPLIED and not f.deliveries
            ],
            "chat_replies_only_in_history": sum(1 for f in chats if not f.deliveries and f.chat_history_replies),
            "chat_reconnects": sum(f.msg.chat_reconnects for f in chats),
            "acceptance_to_final_s": percentiles(final_s),
            "final_after_the_ledger_bound": sum(1 for s in final_s if s > bound),
            "accepted_to_first_reply_at_sink_s": percentiles(first_reply),
            "by_channel": by_channel,
            "settled_after_last_send_s": None if self.settled_after_s is None else round(self.settled_after_s, 1),
            "nothing_in_progress_after_last_send_s": (
                None if self.first_quiet_after_s is None else round(self.first_quiet_after_s, 1)
            ),
            "faults": [r.to_json() for r in self.faults],
            "faulted_children_not_back": [r.child.value for r in self.faults_not_back()],
            "healthz_end": {
                "status": self.health_end[0],
                "after_s": self.healthy_after_s,
                "body": self.health_end[1] if self.health_end[0] != 200 else "ok",
            },
            "supervisor_end": self.supervisor_end,
            "cli_ledger": self.cli_ledger,
            "log_counts": self.log_counts,
            "ledger_timeline": self.ledger_timeline,
        }


async def _fault(stack: SupervisedStack, fault: Crash | Outage, t0: float) -> FaultRecord:
    delay = t0 + fault.at_s - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    if isinstance(fault, Crash):
        return await asyncio.to_thread(stack.crash, fault.child)
    return await asyncio.to_thread(stack.outage, fault.child, fault.seconds)


async def run_scenario(stack: SupervisedStack, scenario: Scenario, *, run_id: str) -> RunResult:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    messages = plan_messages(scenario.messages, seed=scenario.seed, window_s=scenario.window_s, run_id=run_id)
    traffic = Traffic(TrafficTargets(base_url=stack.base_url, smtp_port=stack.smtp_port))
    t0 = time.monotonic()
    stack.t0 = t0
    fault_tasks = [asyncio.create_task(_fault(stack, f, t0)) for f in scenario.faults]
    await traffic.send_all(messages, t0=t0)
    last_send = time.monotonic()
    records = list(await asyncio.gather(*fault_tasks))
    result = RunResult(scenario, messages, records, [])
    async with ledger_probe(var_dir=stack.var, redis_url=stack.redis_url, public_url=stack.base_url) as probe:
        result.ledger_bound_s = probe.bound_s
        deadline = time.monotonic() + scenario.settle_s
        stored_ids = {m.message_id for m in messages if m.message_id}
        while True:
            try:
                states = await probe.states(since=since)
            except Exception as exc:  # noqa: BLE001 - e.g. Redis briefly away: try again
                result.ledger_timeline.append({"t_s": round(time.monotonic() - t0, 1), "error": type(exc).__name__})
                await asyncio.sleep(2)
                continue
            counts = Counter(s.value for s, _ in states.values())
            result.ledger_timeline.append({"t_s": round(time.monotonic() - t0, 1), **counts})
            if not counts.get(LedgerState.IN_PROGRESS.value) and result.first_quiet_after_s is None:
                result.first_quiet_after_s = time.monotonic() - last_send
            final = all(s in {LedgerState.REPLIED, LedgerState.PERSON, LedgerState.ALARM} for s, _ in states.values())
            if final and len(states) >= max(len(stored_ids), result.accepted):
                result.settled_after_s = time.monotonic() - last_send
                break
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(3)
        await asyncio.sleep(scenario.quiet_s)
        await traffic.close_chats()
        await traffic.chat_histories(messages)
        states = await probe.states(since=since)
    result.fates = account(
        messages, states=states, db_path=stack.db_path, deliveries=read_sinks(stack.var, messages), since=since
    )
    t_health = time.monotonic()
    healthy = await asyncio.to_thread(
        wait_until, lambda: stack.healthz()[0] == 200, timeout_s=scenario.healthy_within_s, interval_s=2.0
    )
    result.healthy_after_s = round(time.monotonic() - t_health, 1) if healthy else None
    result.health_end = stack.healthz()
    result.supervisor_end = stack.supervisor_status()
    result.cli_ledger = await asyncio.to_thread(_cli_ledger, stack, since)
    result.log_counts = _log_counts(stack)
    return result


def _cli_ledger(stack: SupervisedStack, since: dt.datetime) -> dict[str, Any]:
    """``glassdesk ledger --json`` beside the running product, over the run's messages (the window starts
    a few minutes early, for the command's own start-up; the demo data holds no customer messages)."""
    hours = ((dt.datetime.now(dt.UTC) - since).total_seconds() + 180) / 3600
    proc = subprocess.run(
        [str(BIN / "glassdesk"), "ledger", "--json", "--hours", f"{hours:.4f}"],
        env=stack.cli_env(),
        cwd=str(stack.tmp),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out: dict[str, Any] = {"exit_code": proc.returncode}
    try:
        data = json.loads(proc.stdout)
        out["counts"] = data.get("counts")
        out["unaccounted"] = len(data.get("unaccounted", []))
    except ValueError:
        out["stdout"] = proc.stdout[-500:]
        out["stderr"] = proc.stderr[-1500:]
    return out


def _log_counts(stack: SupervisedStack) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for log in sorted(stack.log_dir.glob("*.log")):
        text = log.read_text(errors="replace")
        counts = {p: text.count(p) for p in _LOG_PATTERNS if p in text}
        if counts:
            out[log.stem] = counts
    return out
