"""Outcomes on a real container (SQLite, Redis, the chat channel): the survey on resolve, answers
through the real turn (the plain runner: the same steps as the Prefect flow), "not solved" back to a
person with its reason, one outcome row per resolution, and the day's figures computed from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    DecisionRecord,
    Direction,
    EventType,
    InboundMessage,
    Message,
    Route,
    TimelineEvent,
)
from conversation.handoff_reasons import HandoffReason
from conversation.sql import schema as t
from conversation.sql import upgrade_database
from conversation.sql.desk import DeskQueries, DeskState, ticket_label
from conversation.sql.outcome_metrics import OutcomeMetrics
from conversation.sql.outcomes import OutcomeStore, SurveyState
from conversation.survey import SurveyAnswer, not_solved_text, survey_text, thanks_text
from runtime.compose import open_container
from services.agent_desk import AgentDesk, DeskActor
from services.container import Container
from services.ingest import Ingestor
from services.outcomes import AnswerTaken, Outcomes
from services.passwords import hash_password
from services.settings import Settings

AGENT1 = DeskActor("agent1", "Agent One")
AGENT2 = DeskActor("agent2", "Agent Two")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "glassdesk.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


@contextlib.asynccontextmanager
async def _container(tmp_path: Path, db: Path, redis_url: str) -> AsyncIterator[Container]:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(db, var / "glassdesk.db")
    async with open_container(Settings(var_dir=var, redis_url=redis_url), migrate=False) as s:
        for actor in (AGENT1, AGENT2):
            await s.users.upsert(
                actor.username, display_name=actor.display_name, role="agent", password_hash=hash_password("pw-pw-pw")
            )
        yield s


async def _chat(s: Container, text: str, session: str) -> Message:
    result = await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.CHAT, external_id=str(uuid.uuid4()), address=ChatSession(session_id=session), text=text
        )
    )
    return result.message


async def _outbound(s: Container, cid: str) -> list[Message]:
    return [m for m in await s.messages.list_messages(cid) if m.direction is Direction.OUTBOUND]


async def _state(s: Container, cid: str) -> DeskState:
    row = await DeskQueries(s.db).row(cid)
    assert row is not None
    return row.desk_state


async def test_answers_go_through_the_turn_and_a_second_answer_stores_nothing(
    tmp_path: Path, migrated_db: Path, redis_url: str
) -> None:
    from flows.turn import build_turn_flow
    from flows.turn_work import TurnDeps
    from runtime.compose import build_turn_kit

    async with _container(tmp_path, migrated_db, redis_url) as s:
        flow = build_turn_flow(TurnDeps(services=s, kit=await build_turn_kit(s)), orchestrated=False)
        desk, store = AgentDesk(s), OutcomeStore(s.db)

        # a person handled it and resolves it: the customer is asked on the chat, once
        first = await _chat(s, "My parcel arrived damaged", "outcome-a")
        cid = first.conversation_id
        await s.messages.route_conversation(cid, ConversationStatus.HANDED_OFF, queue="claims", assignee="agent1")
        await desk.reply(cid, "We are sending a replacement today.", client_id=str(uuid.uuid4()), actor=AGENT1)
        await desk.set_state(cid, DeskState.RESOLVED, actor=AGENT1)
        [outcome] = await store.of_conversation(cid)
        ticket = ticket_label((await DeskQueries(s.db).row(cid)).ticket_number)  # type: ignore[union-attr]
        survey = (await _outbound(s, cid))[-1]
        assert survey.author_kind is AuthorKind.SYSTEM and survey.channel is ChannelKind.CHAT
        assert survey.text == survey_text("en", ticket=ticket) and survey.external_id  # sent on the chat
        assert outcome.survey_state is SurveyState.ASKED and outcome.survey_message_id == survey.id
        assert outcome.human_replied and outcome.queue == "claims" and outcome.resolved_by == "agent1"

        # "yes": the trigger reopened it on arrival; the turn puts it back resolved and thanks
        yes = await _chat(s, "yes", "outcome-a")
        assert await _state(s, cid) is DeskState.OPEN
        assert await flow([yes.id], [cid]) == {yes.id: "auto_replied"}
        assert await _state(s, cid) is DeskState.RESOLVED
        thanks = (await _outbound(s, cid))[-1]
        assert thanks.text == thanks_text("en", SurveyAnswer(True, None)) and thanks.author_kind is AuthorKind.SYSTEM
        assert await s.timeline.decision_for(yes.id) is None  # never classified, never decided

        five = await _chat(s, "5", "outcome-a")
        assert await flow([five.id], [cid]) == {five.id: "auto_replied"}
        [outcome] = await store.of_conversation(cid)
        assert (outcome.solved, outcome.rating, outcome.survey_state) == (True, 5, SurveyState.ANSWERED)

        # a second answer for the same resolution: no second row, nothing changed, nothing sent
        sent_before = len(await _outbound(s, cid))
        again = await _chat(s, "no 1", "outcome-a")
        assert await flow([again.id], [cid]) == {again.id: "human_in_charge"}
        [outcome] = await store.of_conversation(cid)
        assert (outcome.solved, outcome.rating) == (True, 5)
        assert len(await _outbound(s, cid)) == sent_before and await _state(s, cid) is DeskState.RESOLVED

        # anything else is a new request: the survey is over, the conversation open for its person
        new = await _chat(s, "Where is my other order 10023?", "outcome-a")
        assert await flow([new.id], [cid]) == {new.id: "human_in_charge"}
        assert (await store.of_conversation(cid))[0].survey_state is SurveyState.CLOSED
        assert await _state(s, cid) is DeskState.OPEN

        # the automation answered this one; "nein" sends it back to the person who resolved it
        other = await _chat(s, "Wann kommt meine Bestellung?", "outcome-b")
        cid2 = other.conversation_id
        await s.deliverer.deliver(
            cid2, "Ihre Bestellung ist unterwegs.", author_kind=AuthorKind.AI, language="de", causation_id=other.id
        )
        await s.messages.route_conversation(cid2, ConversationStatus.OPEN, language="de")
        await desk.set_state(cid2, DeskState.RESOLVED, actor=AGENT2)
        assert (await _outbound(s, cid2))[-1].text.startswith("Ist Ihr Anliegen GD-")
        no = await _chat(s, "Nein", "outcome-b")
        assert await flow([no.id], [cid2]) == {no.id: "handed_off"}
        conv = await s.messages.get_conversation(cid2)
        assert (conv.status, conv.assignee, conv.queue) == (ConversationStatus.HANDED_OFF, "agent2", "general")
        assert await _state(s, cid2) is DeskState.OPEN
        assert (await _outbound(s, cid2))[-1].text == not_solved_text("de")
        latest = await store.latest_handoff(cid2)
        assert latest is not None and latest.reason is HandoffReason.NOT_SOLVED
        assert await s.timeline.has_event(causation_id=no.id, types=(EventType.HANDED_OFF,))
        # a rating afterwards is kept, and the person keeps the conversation
        two = await _chat(s, "2", "outcome-b")
        assert await flow([two.id], [cid2]) == {two.id: "auto_replied"}
        [outcome2] = await store.of_conversation(cid2)
        assert (outcome2.solved, outcome2.rating, outcome2.human_replied) == (False, 2, False)
        assert await _state(s, cid2) is DeskState.OPEN


async def _backdate(s: Container, message_id: str, at: dt.datetime) -> None:
    async with s.db.begin() as conn:
        await conn.execute(update(t.messages).where(t.messages.c.id == message_id).values(created_at=at))


async def test_the_days_figures_come_from_stored_outcomes(tmp_path: Path, migrated_db: Path, redis_url: str) -> None:
    async with _container(tmp_path, migrated_db, redis_url) as s:
        desk, outcomes = AgentDesk(s), Outcomes(s)
        now = dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(hours=1)

        async def conversation(session: str, *, asked_s: int, reply_after_s: int | None, by: AuthorKind) -> str:
            msg = await _chat(s, "Hallo, ich habe eine Frage", session)
            await _backdate(s, msg.id, now - dt.timedelta(seconds=asked_s))
            if reply_after_s is not None:
                if by is AuthorKind.AGENT:
                    await desk.take_over(msg.conversation_id, actor=AGENT1)
                    reply = await desk.reply(
                        msg.conversation_id, "Hier ist die Antwort.", client_id=session, actor=AGENT1
                    )
                else:
                    reply = await s.deliverer.deliver(
                        msg.conversation_id, "Hier ist die Antwort.", author_kind=by, language="de", causation_id=msg.id
                    )
                await _backdate(s, reply.id, now - dt.timedelta(seconds=asked_s - reply_after_s))
            return msg.conversation_id

        automated = await conversation("figures-1", asked_s=300, reply_after_s=60, by=AuthorKind.AI)
        human = await conversation("figures-2", asked_s=600, reply_after_s=180, by=AuthorKind.AGENT)
        unsolved = await conversation("figures-3", asked_s=120, reply_after_s=30, by=AuthorKind.AI)
        await conversation("figures-4", asked_s=90, reply_after_s=None, by=AuthorKind.AI)  # nobody answered yet
        await s.messages.route_conversation(human, ConversationStatus.HANDED_OFF, queue="claims", assignee="agent1")
        await s.messages.route_conversation(unsolved, ConversationStatus.OPEN, queue="billing")
        await desk.set_state(automated, DeskState.RESOLVED, actor=AGENT1)
        await desk.set_state(human, DeskState.RESOLVED, actor=AGENT1)
        await desk.set_state(unsolved, DeskState.RESOLVED, actor=AGENT2)

        async def answer_in(session: str, text: str) -> AnswerTaken:
            taken = await outcomes.take_answer(await _chat(s, text, session))
            assert taken is not None
            return taken.taken

        assert await answer_in("figures-1", "yes 5") is AnswerTaken.SOLVED
        assert await answer_in("figures-2", "ja 4") is AnswerTaken.SOLVED
        assert await answer_in("figures-3", "no") is AnswerTaken.NOT_SOLVED
        assert await answer_in("figures-3", "2") is AnswerTaken.RATED
        assert await answer_in("figures-1", "yes") is AnswerTaken.REPEAT

        f = await OutcomeMetrics(s.db).figures(since=since, until=now + dt.timedelta(minutes=5))
        assert (f.conversations, f.unanswered) == (4, 1)
        assert (f.first_response.count, f.first_response.median_s, f.first_response.mean_s) == (3, 60.0, 90.0)
        assert f.resolution.count == 3
        assert f.resolution.median_s is not None and 300 <= f.resolution.median_s < 320
        assert f.resolution.mean_s is not None and 340 <= f.resolution.mean_s < 360
        assert (f.resolved, f.surveys_asked, f.surveys_answered) == (3, 3, 3)
        assert (f.confirmed, f.automated_confirmed, f.automation_rate) == (2, 1, 0.5)
        assert (f.total.ratings, f.total.average, f.total.csat, f.total.not_solved) == (3, 3.67, 0.6667, 1)
        agents = {c.key: (c.ratings, c.average, c.csat) for c in f.by_agent}
        assert agents == {"agent1": (2, 4.5, 1.0), "agent2": (1, 2.0, 0.0)}
        queues = {c.key: (c.ratings, c.csat, c.confirmed, c.not_solved) for c in f.by_queue}
        assert queues == {"general": (1, 1.0, 1, 0), "claims": (1, 1.0, 1, 0), "billing": (1, 0.0, 0, 1)}
        assert f.handoff_reasons == {"agent_took_over": 1, "not_solved": 1}


async def test_handoff_reasons_are_recorded_from_the_timeline_once(
    tmp_path: Path, migrated_db: Path, redis_url: str
) -> None:
    async with _container(tmp_path, migrated_db, redis_url) as s:
        msg = await _chat(s, "Ich will einen Menschen sprechen", "handoff-1")
        cid = msg.conversation_id
        await s.timeline.save_decision(
            DecisionRecord(
                conversation_id=cid,
                inbound_message_id=msg.id,
                route=Route.HANDOFF,
                rule_id="guard:human-requested",
                policy_version="1",
                reason="asked",
            )
        )
        await s.timeline.add_event(
            TimelineEvent(
                conversation_id=cid,
                type=EventType.HANDED_OFF,
                actor=ActorKind.SYSTEM,
                causation_id=msg.id,
                data={"queue": "general", "reason": "policy routes to a person"},
            )
        )
        store = OutcomeStore(s.db)
        assert await store.sync_handoffs(since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)) == 1
        assert await store.sync_handoffs(conversation_id=cid) == 0  # once per handoff, however often synced
        [row] = await store.handoffs_of(cid)
        assert (row.reason, row.detail, row.queue) == (
            HandoffReason.CUSTOMER_ASKED_FOR_PERSON,
            "policy routes to a person",
            "general",
        )
        # a non-answer ends an open survey; a later "yes" is then an ordinary message
        await s.messages.route_conversation(cid, ConversationStatus.HANDED_OFF, assignee="agent1")
        await AgentDesk(s).set_state(cid, DeskState.RESOLVED, actor=AGENT1)
        outcomes = Outcomes(s)
        assert await outcomes.take_answer(await _chat(s, "Und meine Rechnung?", "handoff-1")) is None
        assert await outcomes.take_answer(await _chat(s, "ja", "handoff-1")) is None
        [outcome] = await store.of_conversation(cid)
        assert outcome.survey_state is SurveyState.SUPERSEDED and outcome.solved is None
