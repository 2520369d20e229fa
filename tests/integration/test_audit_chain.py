"""The audit log is append-only and hash-chained (SQLite and, when configured, PostgreSQL): the database
refuses changes, and a change made anyway (triggers dropped, as the database owner could) is found by
`verify`, naming the first broken entry: one entry's data changed, its digest changed, one deleted, two
reordered, the tail cut off, details blanked outside the erasure path. Blanking through the erasure path
(``SqlAuditLog.redact``) verifies, and a redacted entry changed afterwards is found too. Two writers
appending at once never fork the chain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conversation.sql import Database, SqlAuditLog
from conversation.sql.audit import GENESIS_HASH, REDACTED_ACTION, BreakKind, Redaction, details_digest, entry_hash
from conversation.sql.migrate import upgrade_database
from tests.conftest import PG_URL, _reset_postgres

pytestmark = pytest.mark.postgres

N = 8


async def _filled(database: Database, n: int = N) -> SqlAuditLog:
    log = SqlAuditLog(database)
    for i in range(n):
        await log.record(
            actor=f"user{i % 3}",
            action="test.entry",
            object_id=f"obj{i}",
            data={"i": i, "nested": {"ratio": i / 7, "tags": ["a", "ü"]}},
        )
    return log


async def _sql(database: Database, *statements: str) -> None:
    async with database.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _drop_triggers(database: Database) -> None:
    """What an attacker with the database owner's rights can do first."""
    if database.is_sqlite:
        await _sql(database, "DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete")
    else:
        await _sql(
            database,
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
        )


async def test_an_untouched_log_verifies_and_names_its_head(database: Database) -> None:
    log = await _filled(database)
    report = await log.verify()
    newest = (await log.entries(limit=1))[0]
    assert report.ok and report.entries == N and (report.head_seq, report.head_hash) == (N, newest["hash"])
    oldest = (await log.entries(limit=N))[-1]
    assert oldest["seq"] == 1 and oldest["prev_hash"] == GENESIS_HASH
    digest = details_digest(actor=oldest["actor"], object_id=oldest["object_id"], data=oldest["data"])
    assert oldest["data_digest"] == digest
    assert oldest["hash"] == entry_hash(
        seq=1,
        entry_id=oldest["id"],
        action=oldest["action"],
        data_digest=digest,
        at=oldest["at"],
        prev_hash=GENESIS_HASH,
    )
    assert (await log.verify(anchor=(N, newest["hash"]))).ok
    assert (await SqlAuditLog(database).verify()).entries == N  # another reader agrees


async def test_the_database_refuses_updates_and_deletes(database: Database) -> None:
    log = await _filled(database, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log WHERE seq = 1",
        # the one update allowed is a redaction of the details, and nothing else with it
        "UPDATE audit_log SET data = '{\"redacted_by\": \"er_x\"}', hash = '0' WHERE seq = 1",
        "UPDATE audit_log SET data = '{\"redacted_by\": \"er_x\"}', data_digest = '0' WHERE seq = 1",
        "UPDATE audit_log SET data = '{\"i\": 1}', object_id = 'x' WHERE seq = 1",
        # a blanking shaped like an erasure's, but without the audit.redacted entry that names it
        "UPDATE audit_log SET data = '{\"redacted_by\": \"er_x\"}', actor = 'x' WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await _sql(database, statement)
    if not database.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            await _sql(database, "TRUNCATE audit_log")
    assert (await log.verify()).entries == 2


@pytest.mark.parametrize(
    ("tamper", "broken_at", "kind"),
    [
        # one entry's data changed
        ("UPDATE audit_log SET data = '{\"i\": 99}' WHERE seq = 4", 4, BreakKind.ALTERED),
        # its object changed
        ("UPDATE audit_log SET object_id = 'obj0' WHERE seq = 7", 7, BreakKind.ALTERED),
        # its digest changed (to that of other details)
        (
            "UPDATE audit_log SET data_digest = (SELECT data_digest FROM audit_log WHERE seq = 1) WHERE seq = 4",
            4,
            BreakKind.ALTERED,
        ),
        # details blanked like an erasure does, but not through the erasure path
        ('UPDATE audit_log SET data = \'{"redacted_by": "er_fake"}\' WHERE seq = 3', 3, BreakKind.REDACTED),
        # its actor changed
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2, BreakKind.ALTERED),
        # its time changed
        ("UPDATE audit_log SET at = at - INTERVAL_ONE_HOUR WHERE seq = 6", 6, BreakKind.ALTERED),
        # changed and its own hash recomputed to match: the next entry no longer links to it
        ("RECOMPUTE 3", 4, BreakKind.UNLINKED),
        # one deleted in the middle
        ("DELETE FROM audit_log WHERE seq = 5", 6, BreakKind.GAP),
        # the first deleted
        ("DELETE FROM audit_log WHERE seq = 1", 2, BreakKind.GAP),
        # two reordered (their positions swapped)
        ("SWAP 3 5", 3, BreakKind.UNLINKED),
        # renumbered to close the gap after a deletion
        (
            "DELETE FROM audit_log WHERE seq = 5; UPDATE audit_log SET seq = seq - 1 WHERE seq > 5",
            5,
            BreakKind.UNLINKED,
        ),
    ],
)
async def test_any_change_is_found_at_the_first_broken_entry(
    database: Database, tamper: str, broken_at: int, kind: BreakKind
) -> None:
    log = await _filled(database)
    await _drop_triggers(database)
    hour = "datetime(at, '-1 hour')" if database.is_sqlite else "at - interval '1 hour'"
    if tamper.startswith("RECOMPUTE"):
        seq = int(tamper.split()[1])
        entry = next(e for e in await log.entries(limit=N) if e["seq"] == seq)
        digest = details_digest(actor="mallory", object_id=entry["object_id"], data=entry["data"])
        forged = entry_hash(
            seq=seq,
            entry_id=entry["id"],
            action=entry["action"],
            data_digest=digest,
            at=entry["at"],
            prev_hash=entry["prev_hash"],
        )
        await _sql(
            database,
            f"UPDATE audit_log SET actor = 'mallory', data_digest = '{digest}', hash = '{forged}' WHERE seq = {seq}",
        )
    elif tamper.startswith("SWAP"):
        a, b = (int(x) for x in tamper.split()[1:])
        await _sql(
            database,
            f"UPDATE audit_log SET seq = -1 WHERE seq = {a}",
            f"UPDATE audit_log SET seq = {a} WHERE seq = {b}",
            f"UPDATE audit_log SET seq = {b} WHERE seq = -1",
        )
    else:
        await _sql(database, *[s.replace("at - INTERVAL_ONE_HOUR", hour) for s in tamper.split("; ")])
    report = await log.verify()
    assert not report.ok and report.broken is not None
    assert (report.broken.seq, report.broken.kind) == (broken_at, kind), report.broken
    assert report.entries == report.head_seq < broken_at  # the intact part before the break


async def test_blanking_through_the_erasure_path_verifies_and_later_changes_are_found(database: Database) -> None:
    log = await _filled(database)
    redacted = await log.redact(
        [Redaction(seq=3, actor="user0", object_id="subject-pseudonym"), Redaction(seq=5, actor="x", object_id=None)],
        by="admin2",
        receipt_id="er_test",
    )
    assert redacted == 2
    report = await log.verify()
    assert report.ok and report.entries == N + 1, report.broken
    entries = {e["seq"]: e for e in await log.entries(limit=N + 1)}
    assert entries[3]["data"] == {"redacted_by": "er_test"} and entries[3]["object_id"] == "subject-pseudonym"
    assert entries[5]["actor"] == "x" and entries[5]["object_id"] is None
    assert "obj2" not in str(entries[3]) and entries[4]["object_id"] == "obj3"  # nothing else changed
    authorisation = entries[N + 1]
    assert authorisation["action"] == REDACTED_ACTION and authorisation["object_id"] == "er_test"
    assert set(authorisation["data"]["entries"]) == {"3", "5"}
    # redacting again changes nothing (and appends nothing)
    assert await log.redact([Redaction(seq=3, actor="y", object_id=None)], by="admin2", receipt_id="er_2") == 0
    assert (await log.verify()).entries == N + 1
    # the database refuses a second blanking of a redacted entry, and any other change of it
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(database, "UPDATE audit_log SET object_id = 'obj2' WHERE seq = 3")
    # with the triggers gone: a redacted entry changed afterwards, or the record of the redaction
    await _drop_triggers(database)
    await _sql(database, "UPDATE audit_log SET object_id = 'someone-else' WHERE seq = 5")
    broken = (await log.verify()).broken
    assert broken is not None and (broken.seq, broken.kind) == (5, BreakKind.ALTERED), broken
    await _sql(database, "UPDATE audit_log SET object_id = NULL WHERE seq = 5")
    assert (await log.verify()).ok
    await _sql(database, f"UPDATE audit_log SET data = '{{\"entries\": {{}}}}' WHERE seq = {N + 1}")
    broken = (await log.verify()).broken
    assert broken is not None and (broken.seq, broken.kind) == (N + 1, BreakKind.ALTERED), broken


async def test_a_cut_off_tail_is_found_against_a_noted_head(database: Database) -> None:
    log = await _filled(database)
    head = await log.verify()
    await _drop_triggers(database)
    await _sql(database, f"DELETE FROM audit_log WHERE seq >= {N - 1}")
    assert (await log.verify()).ok  # a shorter chain is intact in itself: that is what the anchor is for
    cut = await log.verify(anchor=(head.head_seq, head.head_hash))
    assert cut.broken is not None and cut.broken.kind is BreakKind.TRUNCATED and cut.broken.seq == N
    # a rewritten tail of the same length has another head hash
    await _sql(database, "DELETE FROM audit_log WHERE seq >= 1")
    await _filled(database)
    rewritten = await log.verify(anchor=(head.head_seq, head.head_hash))
    assert rewritten.broken is not None and rewritten.broken.kind is BreakKind.ANCHOR_CHANGED


async def test_two_writers_appending_at_once_never_fork_the_chain(db_url: str) -> None:
    """Two engines (as two processes would have), each with 20 appends in flight at once."""
    first, second = Database(db_url, pool_size=10), Database(db_url, pool_size=10)
    try:
        writers = [SqlAuditLog(first), SqlAuditLog(second)]
        await asyncio.gather(
            *(
                writers[i % 2].record(actor=f"w{i % 2}", action="race", object_id=str(i), data={"i": i})
                for i in range(40)
            )
        )
        report = await SqlAuditLog(first).verify()
        assert report.ok, report.broken
        assert report.entries == 40
        entries = await SqlAuditLog(second).entries(limit=100)
        assert sorted(e["seq"] for e in entries) == list(range(1, 41))
        assert sorted(int(e["object_id"]) for e in entries) == list(range(40))
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"] if PG_URL else ["sqlite"])
async def test_the_migration_chains_the_entries_written_before_it(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        assert PG_URL is not None
        await asyncio.to_thread(_reset_postgres, PG_URL)
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'legacy.db'}"
    await asyncio.to_thread(upgrade_database, url, revision="0004_gdpr")
    db = Database(url)
    try:
        await _sql(
            db,
            *[
                "INSERT INTO audit_log (id, actor, action, object_id, data, at) VALUES "
                f"('au_legacy{i}', 'admin', 'policy.published', '{i}', '{{\"message\": \"m{i}\", \"n\": {i}.5}}', "
                f"'2026-11-0{i + 1} 10:00:00.{i:06d}')"
                for i in range(3)
            ],
        )
        await asyncio.to_thread(upgrade_database, url, revision="0005_security")  # chained with hash version 1
        async with db.read() as conn:
            v1_head = (await conn.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))).one()
        await asyncio.to_thread(upgrade_database, url)  # 0006: digests, chained again with version 2
        log = SqlAuditLog(db)
        await log.record(actor="admin", action="after.upgrade", object_id=None, data={})
        report = await log.verify()
        assert report.ok and report.entries == 5, report.broken
        ordered = list(reversed(await log.entries()))
        assert [e["id"] for e in ordered][:3] == ["au_legacy0", "au_legacy1", "au_legacy2"]
        upgraded = ordered[3]
        assert upgraded["action"] == "audit.chain_upgraded"
        assert (upgraded["data"]["v1_head_seq"], upgraded["data"]["v1_head_hash"]) == (3, v1_head.hash)
        assert v1_head.seq == 3 and v1_head.hash != ordered[2]["hash"]
        # the migration's frozen hash functions agree with the runtime's: a legacy entry can be redacted
        assert await log.redact([Redaction(seq=2, actor="admin", object_id=None)], by="admin2", receipt_id="er_1") == 1
        assert (await log.verify()).ok
    finally:
        await db.dispose()
