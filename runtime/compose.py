"""The composition root: the one place that builds concrete adapters from Settings.

``open_container`` builds every store, bus, lock and channel sender of a process and closes them on
exit; ``build_turn_kit`` adds what the worker's turns need. Web, worker, CLI and flows receive these
objects; nothing else builds a client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from channels.chat import ChatChannelSender, SessionSigner
from channels.email import EmailChannelSender, RelaySettings
from channels.sms import SmsSenderConfig, TwilioSmsSender
from conversation import ChannelKind
from conversation.blobs import FileBlobStore
from conversation.ports import ChannelSender
from knowledge.backoffice.port import BackOffice

if TYPE_CHECKING:
    from knowledge.backoffice import Lookups
from conversation.rediskit import (
    EmbeddedRedis,
    RedisConversationLocks,
    RedisLiveBus,
    RedisRateLimiter,
    RedisTurnQueue,
    connect_redis,
)
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
    upgrade_database,
)
from services.business_hours import calendars_for
from services.container import Container, TurnKit
from services.delivery import Deliverer, DeliveryTarget
from services.settings import Settings

__all__ = [
    "Container",
    "TurnKit",
    "open_container",
    "build_turn_kit",
    "build_senders",
    "resolve_redis_url",
    "REDIS_URL_FILE",
    "WORKER_BEAT_PREFIX",
]

REDIS_URL_FILE = "run/redis.url"
WORKER_BEAT_PREFIX = "gd:worker:beat:"


def resolve_redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis, or the embedded one: reuse a running one under var/, else start it.

    Returns the URL and the server this caller now owns (None when it owns nothing)."""
    if settings.redis_url:
        return settings.redis_url, None
    url_file = settings.var_dir / REDIS_URL_FILE
    if url_file.exists():
        url = url_file.read_text().strip()
        if _redis_answers(url):
            return url, None
    server = EmbeddedRedis(settings.var_dir / "redis")
    url = server.start()
    url_file.parent.mkdir(parents=True, exist_ok=True)
    url_file.write_text(url)
    return url, server


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def build_senders(settings: Settings, bus: RedisLiveBus) -> dict[ChannelKind, ChannelSender]:
    """One ``ChannelSender`` per channel, from settings."""
    sms = TwilioSmsSender(
        SmsSenderConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            public_url=settings.public_url,
            max_segments=settings.sms_max_segments,
            api_base=settings.twilio_api_base,
        )
    )
    email = EmailChannelSender(
        RelaySettings(
            host=settings.relay_host,
            port=settings.relay_port,
            starttls=settings.relay_starttls,
            username=settings.relay_username,
            password=settings.relay_password,
            message_id_domain=settings.email_domain,
        ),
        from_address=settings.email_from,
    )
    return {ChannelKind.SMS: sms, ChannelKind.EMAIL: email, ChannelKind.CHAT: ChatChannelSender(bus)}


@contextlib.asynccontextmanager
async def open_container(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Container]:
    """Build every adapter; close them on exit. Migrations run first unless told otherwise. A calendars
    file that cannot be used stops start-up here, with the file:line and what to fix."""
    await asyncio.to_thread(calendars_for, settings)  # raises CalendarFileError (a ValueError)
    if migrate:
        await asyncio.to_thread(upgrade_database, settings.sqlalchemy_url)
    redis_url, owned = await asyncio.to_thread(resolve_redis_url, settings)
    db = Database(settings.sqlalchemy_url)
    client = connect_redis(redis_url)
    bus = RedisLiveBus(client)
    senders = build_senders(settings, bus)
    messages = SqlMessageStore(db)
    outbox = SqlOutboxStore(db)
    timeline = SqlTimelineStore(db)
    blobs = FileBlobStore(Path(settings.blob_dir))  # one store: replies' files and what the outbox re-sends
    deliverer = Deliverer(
        messages=messages,
        outbox=outbox,
        timeline=timeline,
        bus=bus,
        senders=senders,
        target=DeliveryTarget(public_url=settings.public_url),
        blobs=blobs,
    )
    from understanding.pii import Redactor  # scikit-learn comes with `understanding`: not at CLI start

    signer = SessionSigner(await asyncio.to_thread(settings.secret_key))
    try:
        yield Container(
            settings=settings,
            db=db,
            redis=client,
            messages=messages,
            timeline=timeline,
            outbox=outbox,
            quarantine=SqlQuarantine(db),
            audit=SqlAuditLog(db),
            blobs=blobs,
            queue=RedisTurnQueue(client, min_idle_ms=settings.turn_min_idle_ms),
            locks=RedisConversationLocks(client),
            bus=bus,
            limiter=RedisRateLimiter(client),
            policies=SqlPolicyVersions(db),
            feedback=SqlFeedback(db),
            users=SqlUsers(db),
            ledger=SqlLedger(db),
            senders=senders,
            deliverer=deliverer,
            redactor=Redactor(),
            chat_signer=signer,
        )
    finally:
        for closer in (deliverer.aclose, bus.aclose, client.aclose, db.dispose):
            try:
                await closer()
            except Exception:  # noqa: BLE001 - shutting down: close the rest regardless
                pass
        if owned is not None:
            owned.stop()


async def build_lookups(settings: Settings, sql: BackOffice) -> Lookups:
    """The SQL back office, or the connectors the admin declared (REST, portal robots, SQL as provided).
    The caller closes it (``Lookups.aclose``): connectors hold HTTP clients and robots' browsers."""
    from knowledge.backoffice import Lookups
    from knowledge.backoffice.build import build_backoffice
    from knowledge.backoffice.connectors import load_connectors_file

    if not settings.connectors_file:
        return Lookups(sql)
    secrets = settings.connector_secret_values()
    config = await asyncio.to_thread(load_connectors_file, settings.connectors_file, secrets=secrets)
    backoffice = build_backoffice(
        config, secrets=secrets, provided={"backoffice_db": sql}, screenshots=settings.var_dir / "rpa-screenshots"
    )
    return Lookups(backoffice, timeout=config.longest_budget_seconds or 3.0)


async def build_turn_kit(container: Container) -> TurnKit:
    """Load what turns need (intent model, knowledge index, back office, drafter) once per worker."""
    from knowledge import KnowledgeBase, KnowledgeError, default_articles_dir, ingest_directory
    from knowledge.backoffice import SqlBackOffice
    from knowledge.drafting import ComposerDrafter, Drafter, LlmDrafter, build_chat_model
    from policies import GuardConfig
    from services.intent_source import IntentModelSource
    from services.policy_source import PolicySource
    from understanding import LanguageDetector

    settings = container.settings
    intents = await IntentModelSource.open(settings.model_dir)
    kb_dir = settings.var_dir / "kb-index"
    try:
        kb = await asyncio.to_thread(KnowledgeBase.load, kb_dir, embedder=settings.embeddings)
    except (KnowledgeError, OSError, ValueError):  # no index yet: build it from the shipped articles
        kb = await asyncio.to_thread(
            ingest_directory, default_articles_dir(), index_dir=kb_dir, embedder=settings.embeddings
        )
    drafter: Drafter = ComposerDrafter()
    if settings.llm_provider or settings.llm_base_url:
        drafter = LlmDrafter(
            build_chat_model(
                provider=settings.llm_provider or "openai",
                model=settings.llm_model or "gpt-4o-mini",
                base_url=settings.llm_base_url,
                api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                timeout=settings.llm_timeout_s,
            )
        )
    return TurnKit(
        intents=intents,
        language_detector=LanguageDetector(preferred=settings.supported_languages),  # as the fairness audit
        kb=kb,
        lookups=await build_lookups(settings, SqlBackOffice.from_path(settings.var_dir / "backoffice.db")),
        policy=PolicySource(container.policies),
        guards=GuardConfig(refund_limit=settings.refund_limit, supported_languages=settings.supported_languages),
        drafter=drafter,
    )
