"""Auto-assignment in SQL (tables in ``schema_assignment``): queue rules (auto-assign on or off, the
skills it needs, the round-robin cursor), agent profiles (capacity, skills, presence) and the claim
that gives one conversation to one agent.

The claim is one write transaction: it reads the queue's cursor and its candidates, counts their open
conversations and writes the assignee, the cursor and the audit entry together. On SQLite the
transaction begins IMMEDIATE (``Database.begin``), so it is the only writer of the file; on PostgreSQL
it locks the queue's row and the candidates' profile rows (``FOR UPDATE``, always queue first, then
profiles in username order). The assignee is written only ``WHERE assignee IS NULL`` and while the
agent's open count is still under their capacity, so two workers never give one conversation twice
nor fill an agent past capacity. The rules that choose (who counts as online, the default capacity)
come from the caller (``services.assignment``)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.enums import ConversationStatus
from conversation.sql import schema as t
from conversation.sql.audit import append_entry
from conversation.sql.database import Database
from conversation.sql.desk import WAITING_STATES, DeskState, effective_state, needs_person, priority_rank
from conversation.sql.rows import aware
from conversation.sql.schema_assignment import agent_profiles, agent_skills, desk_queues, queue_skills

__all__ = [
    "AssignmentStore",
    "AgentProfile",
    "Claim",
    "PresenceMode",
    "QueueRule",
    "Touch",
    "AUTO_ASSIGN_ACTOR",
    "open_assigned",
]

AUTO_ASSIGN_ACTOR = "system:auto-assign"  # the audit log's actor of an automatic assignment


@enum.unique
class PresenceMode(enum.StrEnum):
    """What an agent chose: take conversations (online) or not now (away)."""

    ONLINE = "online"
    AWAY = "away"


@dataclass(frozen=True, slots=True)
class QueueRule:
    queue: str
    auto_assign: bool
    skills: tuple[str, ...]
    last_assigned: str | None
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """A staff account that takes conversations; ``capacity`` None: the default applies."""

    username: str
    display_name: str
    role: str
    capacity: int | None
    mode: PresenceMode
    last_seen_at: datetime | None
    skills: tuple[str, ...]
    open_count: int


@dataclass(frozen=True, slots=True)
class Touch:
    """A heartbeat or a presence change: the profile before and after."""

    mode_before: PresenceMode | None  # None: the agent had no profile yet
    seen_before: datetime | None
    mode: PresenceMode
    seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    conversation_id: str
    queue: str
    username: str
    open_before: int  # the agent's open conversations before this one
    capacity: int


def open_assigned() -> ColumnElement[bool]:
    """A conversation that counts against its assignee's capacity: assigned and not resolved or closed
    (pending and snoozed ones are still the agent's work)."""
    c = t.conversations.c
    return and_(
        c.assignee.is_not(None),
        c.status != ConversationStatus.CLOSED.value,
        c.desk_state.not_in([DeskState.RESOLVED.value, DeskState.CLOSED.value]),
    )


class AssignmentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- queues -----------------------------------------------------------------------------------
    async def queue_rules(self) -> list[QueueRule]:
        async with self._db.read() as conn:
            rows = list(await conn.execute(select(desk_queues).order_by(desk_queues.c.queue)))
            skills = await _skills_of(conn, queue_skills, queue_skills.c.queue, [r.queue for r in rows])
        return [_rule(r, skills.get(r.queue, ())) for r in rows]

    async def queue_rule(self, queue: str) -> QueueRule | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(desk_queues).where(desk_queues.c.queue == queue))).first()
            if row is None:
                return None
            skills = await _skills_of(conn, queue_skills, queue_skills.c.queue, [queue])
        return _rule(row, skills.get(queue, ()))

    async def set_queue(
        self, queue: str, *, auto_assign: bool, skills: Sequence[str], by: str, now: datetime
    ) -> QueueRule | None:
        """Create or change a queue's rule (its skills replaced); returns the rule before."""
        before = await self.queue_rule(queue)
        async with self._db.begin() as conn:
            values = {"auto_assign": auto_assign, "updated_by": by, "updated_at": now}
            res = await conn.execute(update(desk_queues).where(desk_queues.c.queue == queue).values(**values))
            if res.rowcount == 0:
                await conn.execute(insert(desk_queues).values(queue=queue, **values))
            await conn.execute(delete(queue_skills).where(queue_skills.c.queue == queue))
            if skills:
                await conn.execute(insert(queue_skills), [{"queue": queue, "skill": s} for s in sorted(set(skills))])
        return before

    # -- agents -----------------------------------------------------------------------------------
    async def profiles(self, roles: Iterable[str]) -> list[AgentProfile]:
        """Every staff account with one of ``roles``, with its profile (defaults without one)."""
        return await self._profiles(roles, username=None)

    async def profile(self, username: str, roles: Iterable[str]) -> AgentProfile | None:
        found = await self._profiles(roles, username=username)
        return found[0] if found else None

    async def _profiles(self, roles: Iterable[str], *, username: str | None) -> list[AgentProfile]:
        u, p = t.users, agent_profiles
        query = (
            select(u.c.username, u.c.display_name, u.c.role, p.c.capacity, p.c.mode, p.c.last_seen_at)
            .select_from(u.outerjoin(p, p.c.username == u.c.username))
            .where(u.c.role.in_(list(roles)))
            .order_by(u.c.username)
        )
        if username is not None:
            query = query.where(u.c.username == username)
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
            names = [r.username for r in rows]
            skills = await _skills_of(conn, agent_skills, agent_skills.c.username, names)
            counts = await _open_counts(conn, names)
        return [
            AgentProfile(
                username=r.username,
                display_name=r.display_name,
                role=r.role,
                capacity=r.capacity,
                mode=PresenceMode(r.mode) if r.mode else PresenceMode.ONLINE,
                last_seen_at=aware(r.last_seen_at),
                skills=skills.get(r.username, ()),
                open_count=counts.get(r.username, 0),
            )
            for r in rows
        ]

    async def set_agent(self, username: str, *, capacity: int | None, skills: Sequence[str], now: datetime) -> None:
        """Set an agent's capacity (None: the default) and skills (replaced)."""
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(agent_profiles)
                .where(agent_profiles.c.username == username)
                .values(capacity=capacity, updated_at=now)
            )
            if res.rowcount == 0:
                await conn.execute(
                    insert(agent_profiles).values(
                        username=username, capacity=capacity, mode=PresenceMode.ONLINE.value, updated_at=now
                    )
                )
            await conn.execute(delete(agent_skills).where(agent_skills.c.username == username))
            if skills:
                await conn.execute(
                    insert(agent_skills), [{"username": username, "skill": s} for s in sorted(set(skills))]
                )

    async def touch(self, username: str, *, now: datetime, mode: PresenceMode | None = None) -> Touch:
        """A heartbeat (``mode`` None: keep the chosen presence) or a presence change; both note ``now``
        as the last heartbeat."""
        p = agent_profiles
        async with self._db.begin() as conn:
            row = (
                await conn.execute(select(p.c.mode, p.c.last_seen_at).where(p.c.username == username).with_for_update())
            ).first()
            if row is None:
                new_mode = mode or PresenceMode.ONLINE
                await conn.execute(
                    insert(p).values(username=username, mode=new_mode.value, last_seen_at=now, updated_at=now)
                )
                return Touch(mode_before=None, seen_before=None, mode=new_mode, seen_at=now)
            before = PresenceMode(row.mode)
            new_mode = mode or before
            await conn.execute(
                update(p).where(p.c.username == username).values(mode=new_mode.value, last_seen_at=now, updated_at=now)
            )
        return Touch(mode_before=before, seen_before=aware(row.last_seen_at), mode=new_mode, seen_at=now)

    # -- the claim --------------------------------------------------------------------------------
    async def claim(
        self,
        conversation_id: str,
        *,
        now: datetime,
        seen_since: datetime,
        default_capacity: int,
        roles: Iterable[str],
    ) -> Claim | None:
        """Give the conversation to the next agent of its queue's rotation who is online (chose online
        and sent a heartbeat since ``seen_since``), has every skill of the queue and is under capacity.
        None: the conversation is not for auto-assignment (assigned already, not waiting for a person,
        its queue does not auto-assign) or nobody is available; it stays unassigned in its queue."""
        c, q, p = t.conversations, desk_queues, agent_profiles
        async with self._db.begin() as conn:
            conv = (
                await conn.execute(
                    select(c.c.queue, c.c.status, c.c.assignee, effective_state(now).label("state")).where(
                        c.c.id == conversation_id
                    )
                )
            ).first()
            if (
                conv is None
                or conv.assignee is not None
                or conv.status not in {s.value for s in WAITING_STATES}
                or conv.state != DeskState.OPEN.value
            ):
                return None
            queue = conv.queue or "general"
            rule = (await conn.execute(select(q).where(q.c.queue == queue).with_for_update())).first()
            if rule is None or not rule.auto_assign:
                return None
            needed = (await _skills_of(conn, queue_skills, queue_skills.c.queue, [queue])).get(queue, ())
            candidates = (
                select(p.c.username, p.c.capacity)
                .join(t.users, t.users.c.username == p.c.username)
                .where(
                    t.users.c.role.in_(list(roles)),
                    p.c.mode == PresenceMode.ONLINE.value,
                    p.c.last_seen_at >= seen_since,
                )
                .order_by(p.c.username)
                .with_for_update(of=p)
            )
            if needed:
                skilled = (
                    select(agent_skills.c.username)
                    .where(agent_skills.c.skill.in_(needed))
                    .group_by(agent_skills.c.username)
                    .having(func.count(func.distinct(agent_skills.c.skill)) == len(needed))
                )
                candidates = candidates.where(p.c.username.in_(skilled))
            agents = sorted(  # Python's order, the same as the cursor comparison below
                (r.username, default_capacity if r.capacity is None else int(r.capacity))
                for r in await conn.execute(candidates)
            )
            if not agents:
                return None
            counts = await _open_counts(conn, [name for name, _ in agents])
            cursor = rule.last_assigned or ""
            after = [a for a in agents if a[0] > cursor]
            rotation = after + [a for a in agents if a[0] <= cursor]
            for name, capacity in rotation:
                open_before = counts.get(name, 0)
                if open_before >= capacity:
                    continue
                if not await _assign_if_room(conn, conversation_id, name, capacity=capacity, now=now):
                    return None  # taken in the meantime (PostgreSQL: another writer won the row)
                await conn.execute(update(q).where(q.c.queue == queue).values(last_assigned=name))
                await append_entry(
                    conn,
                    actor=AUTO_ASSIGN_ACTOR,
                    action="inbox.auto_assigned",
                    object_id=conversation_id,
                    data={"queue": queue, "to": name, "open_before": open_before, "capacity": capacity},
                )
                return Claim(conversation_id, queue, name, open_before, capacity)
        return None

    async def waiting(self, *, now: datetime, limit: int = 50, qualified: str | None = None) -> list[tuple[str, str]]:
        """(conversation id, queue) of unassigned conversations waiting for a person in queues that
        auto-assign: urgent first, then the earliest SLA, then the oldest. ``qualified``: only queues
        whose every skill that agent has."""
        c, q = t.conversations, desk_queues
        queue = func.coalesce(c.c.queue, "general")
        query = (
            select(c.c.id, queue.label("queue"))
            .join(q, q.c.queue == queue)
            .where(q.c.auto_assign.is_(True), c.c.assignee.is_(None), needs_person(now))
            .order_by(priority_rank(), c.c.sla_due_at.is_(None), c.c.sla_due_at, c.c.created_at, c.c.id)
            .limit(limit)
        )
        if qualified is not None:
            missing = select(queue_skills.c.skill).where(
                queue_skills.c.queue == q.c.queue,
                queue_skills.c.skill.not_in(select(agent_skills.c.skill).where(agent_skills.c.username == qualified)),
            )
            query = query.where(~missing.exists())
        async with self._db.read() as conn:
            return [(str(r.id), str(r.queue)) for r in await conn.execute(query)]


async def _assign_if_room(
    conn: AsyncConnection, conversation_id: str, username: str, *, capacity: int, now: datetime
) -> bool:
    """Write the assignee only if the conversation is still unassigned and waiting, and the agent is
    still under capacity (checked in the same statement)."""
    c = t.conversations
    mine = t.conversations.alias("mine")
    open_now = (
        select(func.count())
        .select_from(mine)
        .where(
            mine.c.assignee == username,
            mine.c.status != ConversationStatus.CLOSED.value,
            mine.c.desk_state.not_in([DeskState.RESOLVED.value, DeskState.CLOSED.value]),
        )
        .scalar_subquery()
    )
    res = await conn.execute(
        update(c)
        .where(
            c.c.id == conversation_id,
            c.c.assignee.is_(None),
            c.c.status.in_([s.value for s in WAITING_STATES]),
            open_now < capacity,
        )
        .values(assignee=username, updated_at=now)
    )
    return bool(res.rowcount == 1)


async def _open_counts(conn: AsyncConnection, usernames: Sequence[str]) -> dict[str, int]:
    if not usernames:
        return {}
    c = t.conversations.c
    rows = await conn.execute(
        select(c.assignee, func.count()).where(open_assigned(), c.assignee.in_(list(usernames))).group_by(c.assignee)
    )
    return {str(name): int(n) for name, n in rows}


async def _skills_of(conn: AsyncConnection, table: Any, key: Any, owners: Sequence[str]) -> dict[str, tuple[str, ...]]:
    if not owners:
        return {}
    out: dict[str, list[str]] = {}
    for owner, skill in await conn.execute(
        select(key, table.c.skill).where(key.in_(list(owners))).order_by(key, table.c.skill)
    ):
        out.setdefault(str(owner), []).append(str(skill))
    return {k: tuple(v) for k, v in out.items()}


def _rule(row: Any, skills: tuple[str, ...]) -> QueueRule:
    return QueueRule(
        queue=row.queue,
        auto_assign=bool(row.auto_assign),
        skills=skills,
        last_assigned=row.last_assigned,
        updated_by=row.updated_by,
        updated_at=aware(row.updated_at),
    )
