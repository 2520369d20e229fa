"""Demo data: schema, back office, knowledge index, intent model, policy and, in demo mode only, the
demo logins (agent/agent, ops/ops, admin/admin). Idempotent. Outside demo mode no account is created:
the first admin comes from `glassdesk users create --name NAME --role admin`."""

from __future__ import annotations

import asyncio

from conversation.sql import upgrade_database
from runtime.compose import open_container
from services.passwords import hash_password
from services.settings import Settings

__all__ = ["load_demo", "DEMO_USERS"]

DEMO_USERS = (
    ("agent", "Maria Keller", "agent"),
    ("ops", "Omar Ops", "ops"),
    ("admin", "Ada Admin", "admin"),
)


async def load_demo(settings: Settings) -> str:
    from knowledge import default_articles_dir, ingest_directory
    from knowledge.backoffice import seed_backoffice
    from policies import DEFAULT_POLICY_PATH
    from understanding import ensure_demo_model

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade_database, settings.sqlalchemy_url)
    await seed_backoffice(settings.var_dir / "backoffice.db")
    await asyncio.to_thread(
        ingest_directory, default_articles_dir(), index_dir=settings.var_dir / "kb-index", embedder=settings.embeddings
    )
    await asyncio.to_thread(ensure_demo_model, settings.model_dir / "intents" / "live")
    async with open_container(settings, migrate=False) as services:
        if await services.policies.active() is None:
            await services.policies.publish(
                DEFAULT_POLICY_PATH.read_text(), author="system", message="default policy shipped with Glassdesk"
            )
        if settings.demo_mode:
            for username, name, role in DEMO_USERS:
                if await services.users.by_username(username) is None:
                    await services.users.upsert(
                        username,
                        display_name=name,
                        role=role,
                        password_hash=await asyncio.to_thread(hash_password, username),
                    )
    if settings.demo_mode:
        return "demo data ready: schema, back office, knowledge index, intent model, policy, users (agent/ops/admin)"
    return (
        "demo data ready: schema, back office, knowledge index, intent model, policy; no logins (demo mode is "
        "off): create the first admin with `glassdesk users create --name NAME --role admin`"
    )
