"""The short fault suite: the whole product under ``glassdesk run`` (real processes), 30 customer messages
over SMS, email and chat while the worker and the embedded Redis are killed with ``kill -9`` and the SMTP
relay is down for 15 s. Every accepted message must end replied, with a person or alarmed (the product's
ledger), no customer may get a reply twice, and every killed child must come back by itself.

The long version with all faults and the figures is ``bench/faults.py`` (default settings). Select with
``-m faults``.

One setting differs from the defaults: ``GLASSDESK_RECONCILE_TURN_AGE_S=30`` (default 120). A ``kill -9`` of
Redis can lose the last second of acknowledged stream entries (AOF ``everysec``); the reconciler queues such
a turn again once it is this old. At the default it would be found only after the test's three minutes
(and after the ledger's two-minute bound, see the fault-suite report); 30 s keeps it above
``turn_min_idle_ms`` (20 s), as the setting asks, so a dead worker's turns are still reclaimed first.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest

from services.ledger import LedgerState
from tests.support.fault_run import Crash, Outage, RunResult, Scenario, run_scenario
from tests.support.fault_stack import ChildName, SupervisedStack

pytestmark = pytest.mark.faults

SCENARIO = Scenario(
    messages=30,
    window_s=30.0,
    faults=(
        Outage(ChildName.MAIL_SINK, at_s=3.0, seconds=15.0),
        Crash(ChildName.WORKER, at_s=8.0),
        Crash(ChildName.REDIS, at_s=16.0),
    ),
    settle_s=75.0,
    quiet_s=5.0,
    healthy_within_s=20.0,
)


def _explain(result: RunResult) -> str:
    summary = result.summary()
    keys = (
        "accepted",
        "ledger",
        "final_kind",
        "unaccounted_messages",
        "duplicated_messages",
        "faults",
        "healthz_end",
        "cli_ledger",
        "log_counts",
    )
    return json.dumps({k: summary[k] for k in keys}, indent=1, default=str)[:6000]


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    env = {"GLASSDESK_RECONCILE_TURN_AGE_S": "30"}
    with SupervisedStack(tmp=tmp_path_factory.mktemp("faults"), extra_env=env) as stack:
        result = asyncio.run(run_scenario(stack, SCENARIO, run_id=secrets.token_hex(3)))
    summary = result.summary()
    print(
        "fault suite (short):",
        json.dumps(
            {  # shown with -s / -rP: the figures of this run
                "stack_start_s": round(stack.started_in_s or 0, 1),
                "accepted": summary["accepted"],
                "ledger": summary["ledger"],
                "duplicated_replies": summary["duplicated_replies"],
                "acceptance_to_final_s": summary["acceptance_to_final_s"],
                "settled_after_last_send_s": summary["settled_after_last_send_s"],
                "faults": [(f["child"], f["old_pid"], f["new_pid"], f["back_after_s"]) for f in summary["faults"]],
                "healthz_end": summary["healthz_end"]["status"],
                "cli_ledger_exit": summary["cli_ledger"].get("exit_code"),
            }
        ),
    )
    return result


def test_every_accepted_message_reaches_a_final_state(fault_run: RunResult) -> None:
    assert fault_run.accepted == SCENARIO.messages, _explain(fault_run)
    assert [f.msg.index for f in fault_run.unaccounted] == [], _explain(fault_run)
    counts = fault_run.counts()
    assert counts[LedgerState.UNACCOUNTED.value] == 0 and counts[LedgerState.IN_PROGRESS.value] == 0, _explain(
        fault_run
    )
    # the product's own monitoring command agrees (it exits 1 when anything is unaccounted)
    assert fault_run.cli_ledger.get("exit_code") == 0, _explain(fault_run)


def test_no_customer_gets_a_reply_twice(fault_run: RunResult) -> None:
    assert [f.msg.index for f in fault_run.duplicated] == [], _explain(fault_run)
    replied = [f for f in fault_run.fates if f.state is LedgerState.REPLIED]
    # the replies did reach the sinks: the duplicate check looked at real deliveries
    assert replied and all(f.deliveries or f.chat_history_replies for f in replied), _explain(fault_run)


def test_every_killed_child_came_back_by_itself(fault_run: RunResult) -> None:
    assert {r.child for r in fault_run.faults} == {f.child for f in SCENARIO.faults}
    for record in fault_run.faults:
        assert record.old_pid is not None and record.new_pid is not None, _explain(fault_run)
        assert record.new_pid != record.old_pid and record.back_after_s is not None, _explain(fault_run)
    assert fault_run.health_end[0] == 200, _explain(fault_run)


def _ours(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return any(name in cmdline for name in (b"glassdesk", b"redis-server", b"prefect"))


def test_the_run_left_nothing_behind(fault_run: RunResult) -> None:
    pids = {p for r in fault_run.faults for p in (r.old_pid, r.new_pid, *r.frozen_pids) if p is not None}
    assert pids and not [p for p in pids if _ours(p)]
