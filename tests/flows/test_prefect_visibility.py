"""What ops see in Prefect for a turn, read through the API the Prefect UI reads: every step as a task
run with its state and duration, each back-office lookup as a task run named after its connector, the
run's log lines (ids only, no message text), and a failed turn's run and step ending Failed.

The server is configured as `glassdesk run` configures it (runtime.supervisor.PREFECT_VISIBILITY_ENV)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from conversation import ChannelKind, ChatSession, InboundMessage
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.email_ingest import EmailIngest
from services.ingest import Ingestor
from services.ops_metrics import PrefectLinks
from tests.flows.test_turn_e2e import _claim_mail


def _johns_claim_mail(message_id: str) -> bytes:
    """John Miller's water-damage claim (his household policy): not Anna's, whose email conversation
    the other flow tests in this shared demo database use."""
    return (
        _claim_mail(message_id)
        .replace(b"Anna Schmidt <anna.schmidt@example.com>", b"John Miller <john.miller@example.com>")
        .replace(b"POL-100234", b"POL-200871")
    )


STEPS = ("load_turn", "understand_turn", "look_up", "decide", "hand_off")


async def _task_runs(api: str, message_id: str, *, want: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Task runs whose name ends in ``[message_id]``, once ``want`` of them reached a final state (the
    server's recorder writes them about a second after the run)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        while True:
            resp = await http.post(
                "/task_runs/filter", json={"task_runs": {"name": {"like_": f"[{message_id}]"}}, "limit": 200}
            )
            resp.raise_for_status()
            runs = [r for r in resp.json() if r["name"].endswith(f"[{message_id}]")]
            final = [r for r in runs if r["state_type"] in {"COMPLETED", "FAILED", "CRASHED"}]
            if len(final) >= want or time.monotonic() > deadline:
                return runs
            await asyncio.sleep(0.5)


async def _logs(api: str, flow_run_id: str, *, containing: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        while True:
            resp = await http.post(
                "/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
            )
            resp.raise_for_status()
            entries = list(resp.json())
            if any(containing in e["message"] for e in entries) or time.monotonic() > deadline:
                return entries
            await asyncio.sleep(0.5)


async def _flow_run(api: str, flow_run_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        resp = await http.get(f"/flow_runs/{flow_run_id}")
        resp.raise_for_status()
        return dict(resp.json())


async def _drain(services, name: str, rounds: int = 1) -> None:  # type: ignore[no-untyped-def]
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name=name)
    try:
        for _ in range(rounds):
            await worker.run_once(block_ms=300)
    finally:
        await runner.aclose()  # ends the session's flow run, as the worker does on shutdown


async def test_a_turns_steps_lookups_and_logs_show_in_prefect(services, prefect_harness: str) -> None:  # type: ignore[no-untyped-def]
    mid = await EmailIngest(services).accept(["support@glassdesk.local"], _johns_claim_mail("<visible-1@example.com>"))
    await _drain(services, "test-visibility-worker")

    runs = await _task_runs(prefect_harness, mid, want=len(STEPS) + 2)
    by_name = {r["name"]: r for r in runs}
    assert by_name[f"turn[{mid}]"]["state_type"] == "COMPLETED"  # the turn itself, its steps nested in it
    for step in STEPS:
        run = by_name.get(f"{step}[{mid}]")
        assert run is not None, (step, sorted(by_name))
        assert run["state_type"] == "COMPLETED", (step, run["state_type"])
        assert run["start_time"] and run["end_time"] and run["total_run_time"] > 0, step
    lookups = [r for r in runs if ": claim_intake[" in r["name"]]
    assert len(lookups) == 1, sorted(by_name)
    connector = lookups[0]["name"].split(":")[0]
    assert connector and lookups[0]["state_type"] == "COMPLETED"
    # the lookup's task run sits in the same flow run as the turn's steps
    flow_run_ids = {r["flow_run_id"] for r in runs}
    assert len(flow_run_ids) == 1
    (flow_run_id,) = flow_run_ids
    assert (await _flow_run(prefect_harness, flow_run_id))["state_type"] == "COMPLETED"

    # each step's verdict line sits on that step's task run; the line names no id (the task run does:
    # Prefect cannot delete a log line, so an id in one could never be erased)
    entries = await _logs(prefect_harness, flow_run_id, containing="hand_off msg_…: outcome")
    step_of = {r["id"]: r["name"] for r in runs}
    verdicts = {step_of.get(e["task_run_id"]): e["message"] for e in entries if e["task_run_id"] in step_of}
    assert verdicts[f"understand_turn[{mid}]"].startswith("understand_turn msg_…: intent "), verdicts
    assert verdicts[f"look_up[{mid}]"].startswith("look_up msg_…: lookups claim_intake ok"), verdicts
    assert verdicts[f"hand_off[{mid}]"].startswith("hand_off msg_…: outcome handed_off"), verdicts
    text = "\n".join(e["message"] for e in entries)
    for secret in ("Wasserschaden", "john.miller@example.com", "John Miller", "POL-200871", mid):
        assert secret not in text, secret

    # the /ops link of this turn resolves to exactly this flow run
    links = PrefectLinks(services.settings)
    assert await links.turn_run_of(mid) == by_name[f"turn[{mid}]"]["id"]  # /ops opens the turn itself
    assert links.task_run(by_name[f"turn[{mid}]"]["id"]).endswith(f"/runs/task-run/{by_name[f'turn[{mid}]']['id']}")
    assert await links.flow_run_of(mid) == flow_run_id

    # the decision record names the connector and how long it took
    record = await services.timeline.decision_for(mid)
    assert record is not None
    (intake,) = [lk for lk in record.lookups if lk.tool == "claim_intake"]
    assert intake.connector == connector and isinstance(intake.duration_ms, float)  # recorded; its size is bench matter


async def test_a_failed_turn_shows_failed_in_prefect(services, prefect_harness: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from flows import steps

    async def look_up(deps, work, **_kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("look-up service exploded")

    monkeypatch.setattr(steps, "look_up", look_up)  # the step keeps its name, so its task run does too
    result = await Ingestor(services).accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id="00000000-0000-4000-9000-000000077001",
            address=ChatSession(session_id="session-visibility-fail"),
            text="Where is my order 10023?",
        )
    )
    mid = result.message.id
    await _drain(services, "test-visibility-fail")

    runs = await _task_runs(prefect_harness, mid, want=4)  # turn, load_turn, take_outcome_answer, look_up
    by_name = {r["name"]: r for r in runs}
    assert by_name[f"turn[{mid}]"]["state_type"] == "FAILED"
    assert by_name[f"load_turn[{mid}]"]["state_type"] == "COMPLETED"
    assert by_name[f"look_up[{mid}]"]["state_type"] == "FAILED", sorted(
        (n, r["state_type"]) for n, r in by_name.items()
    )
    assert f"decide[{mid}]" not in by_name
    flow_run = await _flow_run(prefect_harness, by_name[f"look_up[{mid}]"]["flow_run_id"])
    assert flow_run["state_type"] == "FAILED"


async def test_the_plain_runner_runs_the_same_steps_without_prefect(services, prefect_harness: str) -> None:  # type: ignore[no-untyped-def]
    """The bench's baseline (GLASSDESK_TURN_ORCHESTRATION=plain): the same outcome, nothing in Prefect."""
    from flows.turn import build_turn_flow
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit

    deps = TurnDeps(services=services, kit=await build_turn_kit(services))
    plain = build_turn_flow(deps, orchestrated=False)
    orchestrated = build_turn_flow(deps)
    outcomes = []
    for n, flow in ((77101, plain), (77102, orchestrated)):
        result = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.CHAT,
                external_id=f"00000000-0000-4000-9000-{n:012d}",
                address=ChatSession(session_id=f"session-plain-{n}"),
                text="I want to talk to a person",
            )
        )
        out = await flow([result.message.id], [result.conversation.id])
        outcomes.append((result.message.id, out[result.message.id]))
    (plain_id, plain_outcome), (flow_id, flow_outcome) = outcomes
    assert plain_outcome == flow_outcome == "handed_off"
    assert len(await _task_runs(prefect_harness, flow_id, want=4)) >= 4
    assert await _task_runs(prefect_harness, plain_id, want=1, timeout_s=3) == []


async def test_the_worker_shares_one_prefect_client_pair_across_flow_runs(services, prefect_harness: str) -> None:  # type: ignore[no-untyped-def]
    """Every flow run of a worker talks to Prefect through the same clients (a new client per run
    costs a new SSL context, ~45 ms of CPU each); the turns still run and show as before."""
    from prefect import flow as prefect_flow
    from prefect.client.orchestration import get_client

    runner = await TurnRunner.create(services)
    await runner.clients.open()
    try:
        seen = []

        @prefect_flow(persist_result=False)
        async def probe() -> None:
            seen.append((get_client(), get_client(sync_client=True)))

        for _ in range(2):
            with runner.clients.bound():
                await probe()
        assert seen[0][0] is seen[1][0] and seen[0][1] is seen[1][1]
        outside = get_client()
        assert outside is not seen[0][0]  # bound to the worker's flow runs only
        result = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.CHAT,
                external_id="00000000-0000-4000-9000-000000077201",
                address=ChatSession(session_id="session-shared-clients"),
                text="I want to talk to a person",
            )
        )
        worker = worker_for(services, runner.handle_batch, name="test-shared-clients")
        await worker.run_once(block_ms=300)
        assert len(await _task_runs(prefect_harness, result.message.id, want=4)) >= 4
    finally:
        await runner.aclose()


async def _chat(services, n: int, text: str = "I want to talk to a person") -> str:  # type: ignore[no-untyped-def]
    result = await Ingestor(services).accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id=f"00000000-0000-4000-9000-{n:012d}",
            address=ChatSession(session_id=f"session-burst-{n}"),
            text=text,
        )
    )
    return result.message.id


async def test_a_burst_of_batches_runs_in_one_open_flow_run_which_rotates(services, prefect_harness: str) -> None:  # type: ignore[no-untyped-def]
    """Batches share the worker's open flow run (no flow run to create per batch); when the session is
    due, the next one opens while it serves, and the old one ends Completed once its turns are done."""
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-burst")
    runner.session_max_turns = 2
    try:
        first, second = await _chat(services, 77301), await _chat(services, 77302)
        await worker.run_once(block_ms=300)  # one batch of two: the session is now due
        third = await _chat(services, 77303)
        await worker.run_once(block_ms=300)  # still served by it, while the next one opens
        await runner.settle()
        fourth = await _chat(services, 77304)
        await worker.run_once(block_ms=300)
    finally:
        await runner.aclose()
    runs = {m: await _task_runs(prefect_harness, m, want=4) for m in (first, second, third, fourth)}
    flow_of = {m: {r["flow_run_id"] for r in rs} for m, rs in runs.items()}
    assert all(len(ids) == 1 for ids in flow_of.values()), flow_of
    assert flow_of[first] == flow_of[second] == flow_of[third]  # one flow run for three turns, two batches
    assert flow_of[fourth] != flow_of[first]  # the session was due: the next one serves
    for ids in flow_of.values():
        (run_id,) = ids
        run = await _flow_run(prefect_harness, run_id)
        assert run["state_type"] == "COMPLETED" and run["parameters"] == {"worker": run["parameters"]["worker"]}


async def test_a_dead_workers_open_flow_run_is_marked_crashed(services, prefect_harness: str) -> None:  # type: ignore[no-untyped-def]
    """A worker killed mid-session leaves its flow run Running; the next session that opens finds runs
    Running longer than any session lives and marks them Crashed, and leaves younger ones alone. (The
    server stamps a run's start itself, so the test shortens the limit instead of back-dating a run.)"""
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from flows.turn import TURN_FLOW_NAME

    async with get_client() as client:
        stale = await client.create_flow_run(_named_flow(TURN_FLOW_NAME), name="turns dead-worker")
        await client.set_flow_run_state(stale.id, Running(), force=True)
        await asyncio.sleep(4.0)
        young = await client.create_flow_run(_named_flow(TURN_FLOW_NAME), name="turns live-worker")
        await client.set_flow_run_state(young.id, Running(), force=True)
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-lost-sessions")
    runner.lost_after_s = 3.0
    try:
        await _chat(services, 77401)
        await worker.run_once(block_ms=300)
    finally:
        await runner.aclose()
    assert (await _flow_run(prefect_harness, str(stale.id)))["state_type"] == "CRASHED"
    assert (await _flow_run(prefect_harness, str(young.id)))["state_type"] == "RUNNING"


def _named_flow(name: str):  # type: ignore[no-untyped-def]
    from prefect import flow as prefect_flow

    @prefect_flow(name=name)
    def placeholder() -> None:
        return None

    return placeholder
