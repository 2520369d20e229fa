"""Any language, never a crash; a turn that fails goes to a person; the ledger accounts for both."""

from __future__ import annotations

import datetime as dt

import pytest

from conversation import AuthorKind, ChannelKind, ChatSession, ConversationStatus, Direction, EventType, InboundMessage
from conversation.replies import handoff_notice
from conversation.sql.desk import ticket_label
from conversation.sql.desk_store import DeskStore
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.ingest import Ingestor
from services.ledger import LedgerState, compute_ledger

MESSAGES = {
    "fr": "Bonjour, je n'ai toujours pas reçu ma commande et je voudrais savoir où elle se trouve.",
    "it": "Buongiorno, il mio ordine non è ancora arrivato e vorrei sapere dove si trova.",
    "es": "Hola, mi pedido todavía no ha llegado y quisiera saber dónde está.",
    "nl": "Hallo, mijn bestelling is nog steeds niet aangekomen en ik wil graag weten waar die is.",
    "pl": "Dzień dobry, moje zamówienie jeszcze nie dotarło i chciałbym wiedzieć, gdzie jest.",
    "pt": "Olá, a minha encomenda ainda não chegou e gostaria de saber onde está.",
    "tr": "Merhaba, siparişim hâlâ gelmedi ve nerede olduğunu öğrenmek istiyorum.",
}
ASK_FOR_PERSON = {
    "it": "Voglio parlare con un umano",
    "es": "Quiero hablar con una persona",
    "nl": "Ik wil met een mens spreken",
}


async def _chat(services, text: str, n: int) -> str:  # type: ignore[no-untyped-def]
    result = await Ingestor(services).accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id=f"00000000-0000-4000-9000-{n:012d}",  # not the ids other flow tests use
            address=ChatSession(session_id=f"session-lang-{n}"),
            text=text,
        )
    )
    return result.message.id


async def _drain(services) -> None:  # type: ignore[no-untyped-def]
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-lang-worker")
    try:
        while await worker.run_once(block_ms=300):
            pass
    finally:
        await runner.aclose()


async def test_every_language_reaches_a_person_with_a_notice_in_that_language(services) -> None:  # type: ignore[no-untyped-def]
    ids = {lang: await _chat(services, text, i) for i, (lang, text) in enumerate(MESSAGES.items())}
    ids |= {
        f"{lang}-human": await _chat(services, text, 100 + i) for i, (lang, text) in enumerate(ASK_FOR_PERSON.items())
    }
    await _drain(services)
    assert (await services.queue.depth())["pending"] == 0
    for key, mid in ids.items():
        lang = key.split("-")[0]
        msg = await services.messages.get_message(mid)
        conv = await services.messages.get_conversation(msg.conversation_id)
        assert conv.status is ConversationStatus.HANDED_OFF, (key, conv.status)
        record = await services.timeline.decision_for(mid)
        assert record is not None and record.facts["language"] == lang, (key, record and record.facts.get("language"))
        notices = [
            m
            for m in await services.messages.list_messages(conv.id)
            if m.direction is Direction.OUTBOUND and m.author_kind is AuthorKind.SYSTEM
        ]
        ticket = ticket_label(await DeskStore(services.db).ticket_number(conv.id))
        assert ticket and [m.text for m in notices] == [handoff_notice(lang, ticket=ticket)], key
    ledger = await compute_ledger(services, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bound_s=0)
    assert ledger.counts[LedgerState.UNACCOUNTED] == 0 and ledger.counts[LedgerState.PERSON] >= len(ids)


async def test_a_turn_that_keeps_failing_goes_to_a_person_and_is_never_unaccounted(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A step that raises every time: retried, dead-lettered, then the attention queue with the reason
    and an acknowledgement to the customer. The run ends Failed in Prefect."""
    from flows import steps

    async def broken(deps, work):  # type: ignore[no-untyped-def]
        raise RuntimeError("look-up service exploded")

    monkeypatch.setattr(steps, "look_up", broken)  # the one fault injected: a step that always raises
    mid = await _chat(services, "Where is my order 10023?", 900)
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-fail-worker")
    settings = services.settings
    try:
        for _ in range(settings.turn_max_deliveries + 1):
            await worker.run_once(block_ms=300)
    finally:
        await runner.aclose()
    assert (await services.queue.depth())["pending"] == 0
    dead = await services.queue.dead_letters(count=10)
    assert any(d["message_id"] == mid for d in dead)
    msg = await services.messages.get_message(mid)
    conv = await services.messages.get_conversation(msg.conversation_id)
    assert conv.status is ConversationStatus.HANDED_OFF and conv.queue == "attention"
    events = await services.timeline.list_events(conv.id)
    handed = [e for e in events if e.type is EventType.HANDED_OFF]
    assert handed and "automation failed" in handed[-1].data["reason"]
    texts = [m.text for m in await services.messages.list_messages(conv.id) if m.direction is Direction.OUTBOUND]
    assert texts == [handoff_notice("en", ticket=ticket_label(await DeskStore(services.db).ticket_number(conv.id)))]
    ledger = await compute_ledger(services, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bound_s=0)
    assert ledger.counts[LedgerState.UNACCOUNTED] == 0


@pytest.fixture
def services(services):  # type: ignore[no-untyped-def]
    """The flow-test container, with deliveries counted quickly (a dead worker's entries reclaimed at once)."""
    services.queue.min_idle_ms = 1
    return services


async def test_a_model_that_answers_garbage_hands_off_at_once_without_retries(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Drafting that fails the same way every time (unusable output) is not retried: one call, then a
    person with the reason. (An unreachable provider is retried by the step; see the unit tests.)"""
    from knowledge.drafting import DraftingFailed
    from knowledge.drafting.drafter import ComposerDrafter

    calls: list[str] = []

    async def garbage(self, intent, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(intent))
        raise DraftingFailed("the model did not return a JSON object with 'answer' and 'cited_sources'")

    monkeypatch.setattr(ComposerDrafter, "draft", garbage)
    mid = await _chat(services, "Can I return my order?", 950)
    await _drain(services)
    assert len(calls) == 1
    msg = await services.messages.get_message(mid)
    conv = await services.messages.get_conversation(msg.conversation_id)
    assert conv.status is ConversationStatus.HANDED_OFF
    handed = [e for e in await services.timeline.list_events(conv.id) if e.type is EventType.HANDED_OFF]
    assert handed and handed[-1].data["reason"].startswith("drafting failed: the model did not return")


async def test_a_hung_turn_is_cancelled_and_its_batch_finishes(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One turn that never finishes (a step awaiting something that never comes) must not hold the
    other turns of its flow run, nor keep its queue entry alive forever: it times out and fails."""
    import asyncio
    import dataclasses

    from flows import steps
    from flows.turn import build_turn_flow
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit

    original = steps.look_up

    async def look_up(deps, work, **kwargs):  # type: ignore[no-untyped-def]
        if work.message_id == hung:
            await asyncio.Event().wait()  # never set
        return await original(deps, work, **kwargs)

    hung = await _chat(services, "Where is my order 10023?", 960)
    fine = await _chat(services, "I want to talk to a person", 961)
    monkeypatch.setattr(steps, "look_up", look_up)
    quick = dataclasses.replace(services, settings=services.settings.model_copy(update={"turn_timeout_s": 8.0}))
    flow = build_turn_flow(TurnDeps(services=quick, kit=await build_turn_kit(quick)), orchestrated=False)
    warm = await _chat(services, "I want to talk to a person", 962)  # first turns load models: not timed here
    await flow([warm], [(await services.messages.get_message(warm)).conversation_id])
    hung_conv = (await services.messages.get_message(hung)).conversation_id
    fine_conv = (await services.messages.get_message(fine)).conversation_id
    with pytest.raises(Exception) as failed:
        await asyncio.wait_for(flow([hung, fine], [hung_conv, fine_conv]), timeout=30)
    outcomes = failed.value.outcomes  # type: ignore[attr-defined]
    assert outcomes == {hung: "error:TurnTimedOut", fine: "handed_off"}
    # the hung turn's lease was given back: the conversation can be worked on again at once
    async with services.locks.hold(hung_conv, wait_s=0.5):
        pass
