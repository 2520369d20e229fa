"""Demo data: schema, back office, knowledge base, intent model, policy, users. Idempotent."""

from __future__ import annotations

import asyncio

from conversation.sql import upgrade_database
from flows.settings import Settings

__all__ = ["load_demo"]


async def load_demo(settings: Settings) -> str:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade_database, settings.sqlalchemy_url)
    done = ["schema"]
    return "demo data ready: " + ", ".join(done)
