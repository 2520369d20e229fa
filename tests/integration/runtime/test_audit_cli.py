"""`glassdesk audit verify` on a real SQLite system of record: the intact head, the first broken entry
after tampering (exit 1), a cut-off tail against a noted head, and `audit list`."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conversation.sql import Database, SqlAuditLog, upgrade_database
from runtime.audit_cli import audit_app

runner = CliRunner()


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(tmp_path))
    url = f"sqlite+aiosqlite:///{tmp_path / 'glassdesk.db'}"
    upgrade_database(url)

    async def fill() -> None:
        db = Database(url)
        log = SqlAuditLog(db)
        for i in range(5):
            await log.record(
                actor="ada",
                action="conversation.viewed" if i % 2 else "policy.published",
                object_id=f"conv_{i}",
                data={"i": i},
            )
        await db.dispose()

    asyncio.run(fill())
    return tmp_path


def _tamper(var: Path, *statements: str) -> None:
    with sqlite3.connect(var / "glassdesk.db") as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)


def test_verify_prints_the_head_of_an_intact_log(var: Path) -> None:
    out = runner.invoke(audit_app, ["verify"])
    assert out.exit_code == 0, out.output
    assert "audit log intact: 5 entries" in out.output
    head = re.search(r"head (\d+:[0-9a-f]{64})", out.output)
    assert head and head.group(1).startswith("5:")
    assert runner.invoke(audit_app, ["verify", "--expect", head.group(1)]).exit_code == 0
    report = json.loads(runner.invoke(audit_app, ["verify", "--json"]).output)
    assert report == {"ok": True, "entries": 5, "head": head.group(1), "broken": None}


def test_verify_names_the_first_changed_entry(var: Path) -> None:
    _tamper(var, "UPDATE audit_log SET data = '{\"i\": 42}' WHERE seq = 3")
    out = runner.invoke(audit_app, ["verify"])
    assert out.exit_code == 1
    assert "audit log BROKEN at entry 3" in out.output and "changed after it was written" in out.output
    assert "the 2 entries before it are intact" in out.output
    report = json.loads(runner.invoke(audit_app, ["verify", "--json"]).output)
    assert report["ok"] is False and report["broken"]["seq"] == 3 and report["broken"]["kind"] == "altered"


def test_verify_finds_a_cut_off_tail_against_the_noted_head(var: Path) -> None:
    head = re.search(r"head (\d+:[0-9a-f]{64})", runner.invoke(audit_app, ["verify"]).output)
    assert head
    _tamper(var, "DELETE FROM audit_log WHERE seq = 5")
    assert runner.invoke(audit_app, ["verify"]).exit_code == 0  # shorter, and intact in itself
    out = runner.invoke(audit_app, ["verify", "--expect", head.group(1)])
    assert out.exit_code == 1 and "removed from the end" in out.output
    bad = runner.invoke(audit_app, ["verify", "--expect", "five"])
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output


def test_list_shows_the_newest_entries(var: Path) -> None:
    out = runner.invoke(audit_app, ["list", "--limit", "3", "--action", "conversation."])
    assert out.exit_code == 0
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and "conv_3" in lines[0] and "ada" in lines[0]  # of the newest 3 (5, 4, 3), one viewed
    rows = json.loads(runner.invoke(audit_app, ["list", "--json"]).output)
    assert [r["seq"] for r in rows] == [5, 4, 3, 2, 1]


def test_verify_says_what_to_do_without_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(tmp_path))
    out = runner.invoke(audit_app, ["verify"])
    assert out.exit_code == 2 and "glassdesk db upgrade" in out.output
