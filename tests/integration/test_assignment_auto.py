"""Auto-assignment on a real SQLite file and a real Redis (services.assignment): round robin within a
queue, capacity, skills, presence, a conversation that waits until someone comes online, the cursor
across restarts, and two workers (two engines on one file) assigning at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from conversation import ChannelKind, ConversationStatus, InboundMessage, PhoneAddress, Priority, utcnow
from conversation.sql import schema as t
from conversation.sql import upgrade_database
from conversation.sql.assignment_store import AUTO_ASSIGN_ACTOR, PresenceMode
from conversation.sql.desk import DeskState
from conversation.sql.desk_store import DeskStore
from runtime.compose import open_container
from services.assignment import Assignment, AssignmentRefused, Presence
from services.container import Container
from services.passwords import hash_password
from services.settings import Settings

AGENTS = ("anna", "ben", "cleo")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "glassdesk.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def var(tmp_path: Path, migrated_db: Path) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(migrated_db, var / "glassdesk.db")
    return var


@contextlib.asynccontextmanager
async def _container(var: Path, redis_url: str) -> AsyncIterator[Container]:
    async with open_container(Settings(var_dir=var, redis_url=redis_url), migrate=False) as s:
        yield s


@pytest.fixture
async def services(var: Path, redis_url: str) -> AsyncIterator[Container]:
    async with _container(var, redis_url) as s:
        for name in AGENTS:
            await s.users.upsert(name, display_name=name.title(), role="agent", password_hash=hash_password("pw-pw-pw"))
        yield s


async def _waiting(s: Container, *, queue: str = "claims", n: int = 1) -> list[str]:
    """``n`` customer conversations handed to people in ``queue``, unassigned."""
    out = []
    for _ in range(n):
        result = await s.messages.ingest(
            InboundMessage(
                channel=ChannelKind.SMS,
                external_id="SM" + uuid.uuid4().hex,
                address=PhoneAddress(number=f"+4915{uuid.uuid4().int % 10**9:09d}"),
                text="Mein Schaden ist noch offen",
            )
        )
        cid = result.conversation.id
        await s.messages.route_conversation(
            cid,
            ConversationStatus.HANDED_OFF,
            queue=queue,
            priority=Priority.NORMAL,
            sla_due_at=utcnow() + dt.timedelta(hours=2),
        )
        out.append(cid)
    return out


async def _assignee(s: Container, cid: str) -> str | None:
    return (await s.messages.get_conversation(cid)).assignee


async def _online(a: Assignment, *names: str) -> None:
    for name in names:
        await a.set_mode(name, PresenceMode.ONLINE)


async def test_round_robin_across_three_agents_fills_fairly_and_is_audited(services: Container) -> None:
    a = Assignment(services, default_capacity=10)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    await _online(a, *AGENTS)
    cids = await _waiting(services, n=7)
    got = [await a.auto_assign(cid) for cid in cids]
    assert got == ["anna", "ben", "cleo", "anna", "ben", "cleo", "anna"]
    assert [await _assignee(services, c) for c in cids] == got
    assert Counter(got) == {"anna": 3, "ben": 2, "cleo": 2}
    # a second call changes nothing: the conversation is someone's already
    assert await a.auto_assign(cids[0]) is None and await _assignee(services, cids[0]) == "anna"
    entries = [e for e in reversed(await services.audit.entries()) if e["action"] == "inbox.auto_assigned"]
    assert [(e["actor"], e["object_id"], e["data"]["to"], e["data"]["queue"]) for e in entries] == [
        (AUTO_ASSIGN_ACTOR, cid, who, "claims") for cid, who in zip(cids, got, strict=True)
    ]


async def test_the_rotation_continues_after_a_restart(var: Path, redis_url: str, services: Container) -> None:
    a = Assignment(services)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    await _online(a, *AGENTS)
    first = await _waiting(services, n=2)
    assert [await a.auto_assign(c) for c in first] == ["anna", "ben"]
    async with _container(var, redis_url) as again:  # another process, a fresh service object
        later = await _waiting(again, n=2)
        assert [await Assignment(again).auto_assign(c) for c in later] == ["cleo", "anna"]


async def test_capacity_is_respected_and_resolving_frees_a_place(services: Container) -> None:
    a = Assignment(services, default_capacity=2)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    await a.configure_agent("anna", capacity=1, skills=[], actor="admin1")
    await a.configure_agent("ben", capacity=0, skills=[], actor="admin1")  # never auto-assigned
    await _online(a, "anna", "ben")
    cids = await _waiting(services, n=3)
    got = [await a.auto_assign(c) for c in cids]
    assert got == ["anna", None, None]
    await DeskStore(services.db).set_state(cids[0], DeskState.RESOLVED)
    assigned = await a.assign_waiting()
    assert assigned == [(cids[1], "anna")]
    assert await _assignee(services, cids[2]) is None
    views = {v.profile.username: v for v in await a.people()}
    assert (views["anna"].profile.open_count, views["anna"].capacity) == (1, 1)
    assert (views["ben"].profile.open_count, views["ben"].capacity) == (0, 0)
    assert views["cleo"].capacity == 2  # the default


async def test_skills_are_respected(services: Container) -> None:
    a = Assignment(services)
    await a.configure_queue("claims", auto_assign=True, skills=["German", "claims"], actor="admin1")
    assert [r.skills for r in await a.queue_rules()] == [("claims", "german")]
    await a.configure_agent("anna", capacity=None, skills=["german"], actor="admin1")  # one of two
    await a.configure_agent("ben", capacity=None, skills=["claims", "german", "french"], actor="admin1")
    await _online(a, *AGENTS)
    cids = await _waiting(services, n=3)
    assert [await a.auto_assign(c) for c in cids] == ["ben", "ben", "ben"]
    with pytest.raises(AssignmentRefused, match=r"skills\[0\] 'two words' is not a skill name"):
        await a.configure_agent("anna", capacity=None, skills=["two words"], actor="admin1")


async def test_an_away_agent_is_skipped_and_a_stale_heartbeat_reads_as_away_then_offline(services: Container) -> None:
    a = Assignment(services, away_after_s=60, offline_after_s=300)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    await _online(a, *AGENTS)
    await a.set_mode("ben", PresenceMode.AWAY)
    cids = await _waiting(services, n=3)
    assert [await a.auto_assign(c) for c in cids] == ["anna", "cleo", "anna"]
    now = utcnow()
    assert (await a.state_of("ben", now=now)).presence is Presence.AWAY
    assert (await a.state_of("cleo", now=now + dt.timedelta(seconds=61))).presence is Presence.AWAY
    assert (await a.state_of("cleo", now=now + dt.timedelta(seconds=301))).presence is Presence.OFFLINE
    # an agent whose page stopped sending heartbeats is not online any more: nobody gets the next one
    later = await _waiting(services)
    assert await a.auto_assign(later[0], now=utcnow() + dt.timedelta(seconds=120)) is None


async def test_no_agent_available_leaves_it_unassigned_until_one_comes_online(services: Container) -> None:
    a = Assignment(services)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    (cid,) = await _waiting(services)
    assert await a.auto_assign(cid) is None
    row = await services.messages.get_conversation(cid)
    assert (row.assignee, row.queue, row.status) == (None, "claims", ConversationStatus.HANDED_OFF)
    seen: list[dict[str, object]] = []

    async def listen() -> None:
        async for payload in services.bus.subscribe(cid):
            seen.append(payload)
            return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.2)  # subscribed
    state = await a.heartbeat("cleo")  # cleo's inbox page opens: she is online
    assert state.presence is Presence.ONLINE
    assert await _assignee(services, cid) == "cleo"
    await asyncio.wait_for(listener, 5)
    assert seen[0]["event"] == "assigned" and seen[0]["to"] == "cleo"


async def test_queues_that_do_not_auto_assign_are_left_alone(services: Container) -> None:
    a = Assignment(services)
    await _online(a, *AGENTS)
    (plain,) = await _waiting(services, queue="general")
    assert await a.auto_assign(plain) is None
    await a.configure_queue("general", auto_assign=False, skills=[], actor="admin1")
    assert await a.auto_assign(plain) is None and await _assignee(services, plain) is None


async def test_two_workers_at_once_never_exceed_capacity(var: Path, redis_url: str, services: Container) -> None:
    a = Assignment(services, default_capacity=2)
    await a.configure_queue("claims", auto_assign=True, skills=[], actor="admin1")
    await _online(a, *AGENTS)
    cids = await _waiting(services, n=12)
    async with _container(var, redis_url) as other:  # a second engine on the same file: a second worker
        b = Assignment(other, default_capacity=2)
        results = await asyncio.gather(*(w.auto_assign(c) for c in cids for w in (a, b)))
    assert sum(r is not None for r in results) == 6  # three agents, two each: the rest wait
    async with services.db.read() as conn:
        rows = list(
            await conn.execute(
                select(t.conversations.c.id, t.conversations.c.assignee).where(t.conversations.c.id.in_(cids))
            )
        )
    per_agent = Counter(r.assignee for r in rows if r.assignee)
    assert per_agent == {"anna": 2, "ben": 2, "cleo": 2}
    assert sum(1 for r in rows if r.assignee is None) == 6
    entries = [e for e in await services.audit.entries() if e["action"] == "inbox.auto_assigned"]
    assert len(entries) == 6 and len({e["object_id"] for e in entries}) == 6
