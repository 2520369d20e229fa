"""The objects the composition root (``runtime.compose``) builds: one frozen, typed container per
process, and the turn kit the worker adds to it. Nothing here builds anything; everything else
receives these objects instead of making its own clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from channels.chat import SessionSigner
from conversation import ChannelKind
from conversation.ports import BlobStore, ChannelSender, ConversationLocks, LiveBus, RateLimiter
from conversation.rediskit import RedisTurnQueue
from conversation.sql import (
    Database,
    SqlAuditLog,
    SqlFeedback,
    SqlLedger,
    SqlMessageStore,
    SqlOutboxStore,
    SqlPolicyVersions,
    SqlQuarantine,
    SqlTimelineStore,
    SqlUsers,
)
from services.delivery import Deliverer
from services.settings import Settings

if TYPE_CHECKING:  # the turn's parts import scikit-learn and LangChain: only the worker loads them
    from knowledge import KnowledgeBase
    from knowledge.backoffice import Lookups
    from knowledge.drafting import Drafter
    from policies import GuardConfig
    from services.intent_source import IntentModelSource
    from services.policy_source import PolicySource
    from understanding import LanguageDetector, Redactor

__all__ = ["Container", "TurnKit"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    """Every store, bus, lock and sender of this process, typed by port where a port exists."""

    settings: Settings
    db: Database
    redis: aioredis.Redis
    messages: SqlMessageStore
    timeline: SqlTimelineStore
    outbox: SqlOutboxStore
    quarantine: SqlQuarantine
    audit: SqlAuditLog
    blobs: BlobStore
    queue: RedisTurnQueue
    locks: ConversationLocks
    bus: LiveBus
    limiter: RateLimiter
    policies: SqlPolicyVersions
    feedback: SqlFeedback
    users: SqlUsers
    ledger: SqlLedger
    senders: Mapping[ChannelKind, ChannelSender]
    deliverer: Deliverer
    redactor: Redactor
    chat_signer: SessionSigner


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnKit:
    """What a turn needs beyond the container: understanding, knowledge, policy and drafting."""

    intents: IntentModelSource
    language_detector: LanguageDetector
    kb: KnowledgeBase
    lookups: Lookups
    policy: PolicySource
    guards: GuardConfig
    drafter: Drafter
