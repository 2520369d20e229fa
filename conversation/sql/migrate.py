"""Apply the Alembic migrations programmatically (``glassdesk db upgrade`` and start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["upgrade_database", "alembic_config"]

_HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_database(url: str, *, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Synchronous: call it outside a running event loop
    (or through ``asyncio.to_thread``)."""
    from alembic import command

    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
