"""A survey answer through the worker and the real ``turns`` flow on a Prefect server: the answer is
taken by the turn's own task before classification, recorded once, and the conversation resolved."""

from __future__ import annotations

import uuid

from conversation import AuthorKind, ChannelKind, ChatSession, ConversationStatus, Direction, InboundMessage
from conversation.handoff_reasons import HandoffReason
from conversation.sql.desk import DeskQueries, DeskState
from conversation.sql.outcomes import OutcomeStore
from conversation.sql.sla_store import SqlSlaClocks
from conversation.survey import SurveyAnswer, thanks_text
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.agent_desk import AgentDesk, DeskActor
from services.ingest import Ingestor
from services.passwords import hash_password


async def test_a_survey_answer_is_taken_by_the_turn_flow(services) -> None:  # type: ignore[no-untyped-def]
    await services.users.upsert("agent9", display_name="Agent Nine", role="agent", password_hash=hash_password("pw"))

    async def chat(text: str) -> str:
        result = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.CHAT,
                external_id=str(uuid.uuid4()),
                address=ChatSession(session_id="session-outcome-flow"),
                text=text,
            )
        )
        return result.message.id

    first = await chat("I want to talk to a person")
    runner = await TurnRunner.create(services)
    worker = worker_for(services, runner.handle_batch, name="test-outcome-worker")
    while await worker.run_once(block_ms=300):
        pass
    cid = (await services.messages.get_message(first)).conversation_id
    assert (await services.messages.get_conversation(cid)).status is ConversationStatus.HANDED_OFF
    # the turn's own handoff step recorded why (before any resolve could sync it from the timeline)
    handoff = await OutcomeStore(services.db).latest_handoff(cid)
    assert handoff is not None and handoff.reason is HandoffReason.CUSTOMER_ASKED_FOR_PERSON, handoff
    timers = await SqlSlaClocks(services.db).timers(cid)  # and started the three SLA timers
    assert timers is not None and timers.first_response.due_at is not None
    await AgentDesk(services).set_state(cid, DeskState.RESOLVED, actor=DeskActor("agent9", "Agent Nine"))

    answer = await chat("ja 4")
    while await worker.run_once(block_ms=300):
        pass
    assert (await services.queue.depth())["pending"] == 0
    [outcome] = await OutcomeStore(services.db).of_conversation(cid)
    assert (outcome.solved, outcome.rating, outcome.resolved_by) == (True, 4, "agent9")
    row = await DeskQueries(services.db).row(cid)
    assert row is not None and row.desk_state is DeskState.RESOLVED
    assert await services.timeline.decision_for(answer) is None  # never classified
    last = [m for m in await services.messages.list_messages(cid) if m.direction is Direction.OUTBOUND][-1]
    assert last.author_kind is AuthorKind.SYSTEM
    assert last.text == thanks_text((await services.messages.get_conversation(cid)).language, SurveyAnswer(True, 4))
