"""Auto-assignment and presence: who of a queue's agents gets a conversation that comes to people.

- A queue auto-assigns once an admin turns it on (``desk_queues``); other queues stay as they were:
  the conversation waits unassigned and anyone of the queue takes it.
- An agent is available when they chose "online" and their inbox page sent a heartbeat in the last
  ``away_after_s`` seconds, they have every skill the queue needs, and they have fewer open assigned
  conversations (resolved and closed do not count) than their capacity (their own, or the default).
- Round robin within the queue: the next conversation goes to the available agent after the one the
  queue assigned last, in username order (the cursor is stored, so it is fair across restarts and
  shared by every worker). An agent at capacity is skipped and keeps their place.
- Nobody available: the conversation stays unassigned in its queue (the inbox shows it there).
  Assignment runs again when an agent comes online (heartbeat or "online" toggle), on every heartbeat
  of an agent with room (so capacity freed by resolve or close is filled within one heartbeat), and
  when :func:`assign_waiting` is called (the desk's resolve and close can call it to fill at once).
- Presence: ``online`` (chose online, heartbeat fresh), ``away`` (chose away, or no heartbeat for
  ``away_after_s``), ``offline`` (no heartbeat for ``offline_after_s``).

The pick and the write are one transaction in :class:`conversation.sql.assignment_store.AssignmentStore`
(two workers never fill an agent past capacity). Auto-assignment takes no conversation lock: the turn
that hands off already holds it. Every automatic assignment is audited (ids only) and published live.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from conversation import ActorKind, NotFound, utcnow
from conversation.sql.assignment_store import AgentProfile, AssignmentStore, Claim, PresenceMode, QueueRule
from services.container import Container

__all__ = [
    "Assignment",
    "AssignmentRefused",
    "Presence",
    "PresenceMode",
    "PresenceState",
    "AgentView",
    "auto_assign",
    "assign_waiting",
    "assignment_for",
    "clean_skills",
    "presence_of",
    "DEFAULT_CAPACITY",
    "AWAY_AFTER_S",
    "OFFLINE_AFTER_S",
    "MAX_CAPACITY",
]

DEFAULT_CAPACITY = 5
AWAY_AFTER_S = 60.0
OFFLINE_AFTER_S = 300.0
MAX_CAPACITY = 100
MAX_SKILLS = 20
ASSIGNABLE_ROLES = ("agent", "admin")  # as services.agent_desk.ASSIGNABLE_ROLES
_SKILL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_QUEUE = re.compile(r"[\w.-]{1,64}")


class AssignmentRefused(Exception):
    """Bad input to an admin's change (HTTP 422); the message says what and how to fix it."""


@enum.unique
class Presence(enum.StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class PresenceState:
    username: str
    presence: Presence
    mode: PresenceMode  # what the agent chose
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class AgentView:
    profile: AgentProfile
    presence: Presence
    capacity: int  # the effective one


def presence_of(
    mode: PresenceMode,
    last_seen_at: datetime | None,
    *,
    now: datetime,
    away_after: timedelta = timedelta(seconds=AWAY_AFTER_S),
    offline_after: timedelta = timedelta(seconds=OFFLINE_AFTER_S),
) -> Presence:
    """Online: chose online and a heartbeat within ``away_after``. Offline: no heartbeat within
    ``offline_after`` (or never). Away: everything between, and whoever chose away."""
    if last_seen_at is None or now - last_seen_at >= offline_after:
        return Presence.OFFLINE
    if mode is PresenceMode.AWAY or now - last_seen_at >= away_after:
        return Presence.AWAY
    return Presence.ONLINE


def clean_skills(values: Sequence[str], *, field: str = "skills") -> tuple[str, ...]:
    """Skill names as stored: lower case, 1 to 64 of letters, digits, '.', '-', '_'; sorted, unique."""
    if len(values) > MAX_SKILLS:
        raise AssignmentRefused(f"{field}: at most {MAX_SKILLS} skills; remove {len(values) - MAX_SKILLS}.")
    out = set()
    for i, raw in enumerate(values):
        skill = raw.strip().lower()
        if not _SKILL.fullmatch(skill):
            raise AssignmentRefused(
                f"{field}[{i}] {raw[:70]!r} is not a skill name: use 1 to 64 letters, digits, '.', '-' or '_', "
                "starting with a letter or digit (e.g. german, claims)."
            )
        out.add(skill)
    return tuple(sorted(out))


class Assignment:
    def __init__(
        self,
        services: Container,
        *,
        default_capacity: int = DEFAULT_CAPACITY,
        away_after_s: float = AWAY_AFTER_S,
        offline_after_s: float = OFFLINE_AFTER_S,
        batch: int = 50,
    ) -> None:
        if away_after_s <= 0 or offline_after_s < away_after_s:
            raise ValueError("presence: 0 < away_after_s <= offline_after_s")
        self._s = services
        self._store = AssignmentStore(services.db)
        self.default_capacity = default_capacity
        self.away_after = timedelta(seconds=away_after_s)
        self.offline_after = timedelta(seconds=offline_after_s)
        self._batch = batch

    # -- presence ---------------------------------------------------------------------------------
    def presence(self, mode: PresenceMode, last_seen_at: datetime | None, *, now: datetime) -> Presence:
        return presence_of(mode, last_seen_at, now=now, away_after=self.away_after, offline_after=self.offline_after)

    async def heartbeat(self, username: str, *, now: datetime | None = None) -> PresenceState:
        """The agent's inbox page is open. Coming (back) online, or online with room, fills waiting
        conversations of auto-assigning queues."""
        return await self._touch(username, None, now=now or utcnow())

    async def set_mode(self, username: str, mode: PresenceMode, *, now: datetime | None = None) -> PresenceState:
        """The agent's own toggle: away (no new conversations) or online. Audited."""
        state = await self._touch(username, mode, now=now or utcnow())
        await self._s.audit.record(
            actor=username, action="desk.presence_set", object_id=username, data={"mode": mode.value}
        )
        return state

    async def _touch(self, username: str, mode: PresenceMode | None, *, now: datetime) -> PresenceState:
        try:
            touch = await self._store.touch(username, now=now, mode=mode)
        except IntegrityError:  # PostgreSQL: two first heartbeats of one agent at once; the row is there now
            touch = await self._store.touch(username, now=now, mode=mode)
        before = (
            Presence.OFFLINE
            if touch.mode_before is None
            else self.presence(touch.mode_before, touch.seen_before, now=now)
        )
        after = self.presence(touch.mode, touch.seen_at, now=now)
        if after is Presence.ONLINE:
            came_online = before is not Presence.ONLINE
            if came_online or await self._has_room(username):
                await self.assign_waiting(now=now, qualified=username)
        return PresenceState(username=username, presence=after, mode=touch.mode, last_seen_at=touch.seen_at)

    async def _has_room(self, username: str) -> bool:
        profile = await self._store.profile(username, ASSIGNABLE_ROLES)
        return profile is not None and profile.open_count < self._capacity(profile)

    def _capacity(self, profile: AgentProfile) -> int:
        return self.default_capacity if profile.capacity is None else profile.capacity

    # -- assigning --------------------------------------------------------------------------------
    async def auto_assign(self, conversation_id: str, *, now: datetime | None = None) -> str | None:
        """Give the conversation to the next available agent of its queue; returns their username, or
        None when it stays unassigned (see the module text for who is available)."""
        now = now or utcnow()
        claim = await self._store.claim(
            conversation_id,
            now=now,
            seen_since=now - self.away_after,
            default_capacity=self.default_capacity,
            roles=ASSIGNABLE_ROLES,
        )
        if claim is None:
            return None
        await self._published(claim)
        return claim.username

    async def assign_waiting(
        self, *, now: datetime | None = None, qualified: str | None = None
    ) -> list[tuple[str, str]]:
        """Offer unassigned conversations waiting in auto-assigning queues to the rotation (most urgent
        first, at most ``batch``; ``qualified``: only queues that agent has the skills for). A queue
        where nobody was available is not tried again in this run. Returns (conversation id, username)
        of those assigned."""
        now = now or utcnow()
        done: list[tuple[str, str]] = []
        full: set[str] = set()
        for cid, queue in await self._store.waiting(now=now, limit=self._batch, qualified=qualified):
            if queue in full:
                continue
            who = await self.auto_assign(cid, now=now)
            if who is None:
                full.add(queue)
            else:
                done.append((cid, who))
        return done

    async def _published(self, claim: Claim) -> None:
        await self._s.bus.publish(
            claim.conversation_id,
            {"event": "assigned", "actor": ActorKind.SYSTEM.value, "to": claim.username, "queue": claim.queue},
        )

    # -- admin ------------------------------------------------------------------------------------
    async def queue_rules(self) -> list[QueueRule]:
        return await self._store.queue_rules()

    async def configure_queue(self, queue: str, *, auto_assign: bool, skills: Sequence[str], actor: str) -> None:
        """Set a queue's required skills and whether it auto-assigns (admins). Turning it on assigns
        what waits there now. Audited."""
        queue = queue.strip()
        if not _QUEUE.fullmatch(queue):
            raise AssignmentRefused("queue: a queue name is 1 to 64 letters, digits, '.', '-' or '_'.")
        cleaned = clean_skills(skills)
        now = utcnow()
        before = await self._store.set_queue(queue, auto_assign=auto_assign, skills=cleaned, by=actor, now=now)
        await self._s.audit.record(
            actor=actor,
            action="desk.queue_configured",
            object_id=queue,
            data={
                "auto_assign": auto_assign,
                "skills": list(cleaned),
                "before": None
                if before is None
                else {"auto_assign": before.auto_assign, "skills": list(before.skills)},
            },
        )
        if auto_assign:
            await self.assign_waiting(now=now)

    async def configure_agent(self, username: str, *, capacity: int | None, skills: Sequence[str], actor: str) -> None:
        """Set an agent's capacity (None: the default) and skills (admins). Audited."""
        if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
            raise AssignmentRefused(
                f"capacity: {capacity} is out of range; use 0 to {MAX_CAPACITY} (0: none assigned)."
            )
        cleaned = clean_skills(skills)
        if await self._store.profile(username, ASSIGNABLE_ROLES) is None:
            raise NotFound(f"there is no agent called {username!r}")
        await self._store.set_agent(username, capacity=capacity, skills=cleaned, now=utcnow())
        await self._s.audit.record(
            actor=actor,
            action="desk.agent_configured",
            object_id=username,
            data={"capacity": capacity, "skills": list(cleaned)},
        )
        await self.assign_waiting()  # new skills or room may fit what waits

    async def people(self, *, now: datetime | None = None) -> list[AgentView]:
        now = now or utcnow()
        return [
            AgentView(profile=p, presence=self.presence(p.mode, p.last_seen_at, now=now), capacity=self._capacity(p))
            for p in await self._store.profiles(ASSIGNABLE_ROLES)
        ]

    async def state_of(self, username: str, *, now: datetime | None = None) -> PresenceState:
        now = now or utcnow()
        p = await self._store.profile(username, ASSIGNABLE_ROLES)
        if p is None:
            return PresenceState(
                username=username, presence=Presence.OFFLINE, mode=PresenceMode.ONLINE, last_seen_at=None
            )
        return PresenceState(
            username=username,
            presence=self.presence(p.mode, p.last_seen_at, now=now),
            mode=p.mode,
            last_seen_at=p.last_seen_at,
        )


def assignment_for(services: Container) -> Assignment:
    """The service with this process's settings (``GLASSDESK_DESK_DEFAULT_CAPACITY``,
    ``GLASSDESK_DESK_PRESENCE_AWAY_AFTER_S``, ``GLASSDESK_DESK_PRESENCE_OFFLINE_AFTER_S``)."""
    settings = services.settings
    return Assignment(
        services,
        default_capacity=settings.desk_default_capacity,
        away_after_s=settings.desk_presence_away_after_s,
        offline_after_s=settings.desk_presence_offline_after_s,
    )


async def auto_assign(services: Container, conversation_id: str) -> str | None:
    """The hook after a handoff (``flows.steps._route_to_person``): see :meth:`Assignment.auto_assign`."""
    return await assignment_for(services).auto_assign(conversation_id)


async def assign_waiting(services: Container) -> list[tuple[str, str]]:
    """The hook after resolve or close frees capacity: see :meth:`Assignment.assign_waiting`."""
    return await assignment_for(services).assign_waiting()
