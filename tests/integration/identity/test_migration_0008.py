"""Migration 0008_customer on SQLite: it creates ``contact_merges`` as ``schema_customer`` declares it,
and its downgrade removes it again."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from conversation.sql.migrate import alembic_config, upgrade_database
from conversation.sql.schema_customer import contact_merges


def test_0008_creates_and_drops_contact_merges(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", revision="0008_customer")
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("contact_merges")}
        assert columns == {c.name for c in contact_merges.columns}
        indexes = {i["name"] for i in inspector.get_indexes("contact_merges")}
        assert indexes == {i.name for i in contact_merges.indexes}
        command.downgrade(alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"), "0007_desk")
        assert "contact_merges" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
