"""The pure parts of the data-protection code: matching, log and sink files, Redis key classes, the
flow-run fake, the pseudonym and the record of processing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.gdpr_files import VarFiles, purge_files, scrub_files
from services.gdpr_prefect import MemoryFlowRuns
from services.gdpr_redis import REDIS_KEYS, key_class
from services.gdpr_ropa import build_ropa, render_markdown
from services.gdpr_subject import MIN_TOKEN, Matcher, pseudonym
from services.settings import Settings


def test_matcher_is_case_insensitive_and_ignores_short_tokens() -> None:
    m = Matcher(["Liesel.Q@Example.org", "msg_abc123", "Al"])
    assert m.search("to: liesel.q@example.org") and m.search(b"turn MSG_ABC123 failed")
    assert not m.search("Al went home") and "al" not in m.tokens and len("Al") < MIN_TOKEN
    assert not Matcher([]) and not Matcher([]).search("anything")
    assert m.found("x liesel.q@example.org y msg_abc123") == {"liesel.q@example.org", "msg_abc123"}


def test_the_pseudonym_is_keyed_and_stable() -> None:
    assert pseudonym("k1", "ct_1") == pseudonym("k1", "ct_1") != pseudonym("k2", "ct_1") != pseudonym("k1", "ct_2")
    assert "ct_1" not in pseudonym("k1", "ct_1") and len(pseudonym("k1", "ct_1")) == 64


def _var(tmp_path: Path) -> VarFiles:
    files = VarFiles.under(tmp_path)
    for folder in (files.logs, files.mail, files.sms, files.screenshots):
        folder.mkdir(parents=True)
    return files


def test_scrub_drops_the_lines_and_sink_files_naming_the_subject(tmp_path: Path) -> None:
    files = _var(tmp_path)
    log = files.logs / "worker.log"
    log.write_text(
        "2026-11-01 10:00:00,000 INFO a accepted sms message msg_subject01\n"
        "2026-11-01 10:00:01,000 INFO a accepted sms message msg_other0001\n"
    )
    (files.mail / "1.eml").write_text("To: liesel@example.org\n\nhello")
    (files.mail / "2.eml").write_text("To: other@example.org\n\nhello")
    (files.sms / "3.json").write_text('{"to": "+4915730019917"}')
    m = Matcher(["msg_subject01", "liesel@example.org", "+4915730019917"])
    assert scrub_files(files, m, dry_run=True) == {"log_lines": 1, "mail_files": 1, "sms_files": 1}
    assert len(log.read_text().splitlines()) == 2  # a dry run changes nothing
    assert scrub_files(files, m) == {"log_lines": 1, "mail_files": 1, "sms_files": 1}
    assert log.read_text() == "2026-11-01 10:00:01,000 INFO a accepted sms message msg_other0001\n"
    assert sorted(p.name for p in files.mail.iterdir()) == ["2.eml"] and not list(files.sms.iterdir())


def test_log_retention_goes_by_the_line_timestamps_and_tracebacks_follow_their_line(tmp_path: Path) -> None:
    files = _var(tmp_path)
    log = files.logs / "web.log"
    log.write_text(
        "2026-01-01 00:00:00,000 ERROR old failure\nTraceback (most recent call last):\n  boom\n"
        "2026-03-01 00:00:00,000 INFO recent line\n  continuation of recent\n"
    )
    old_png = files.screenshots / "portal.png"
    old_png.write_bytes(b"png")
    stamp = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    os.utime(old_png, (stamp, stamp))
    cutoff = datetime(2026, 2, 1, tzinfo=UTC)
    counts = purge_files(files, logs_before=cutoff, sinks_before=cutoff - timedelta(days=365), dry_run=False)
    assert counts == {"log_lines": 3, "mail_files": 0, "sms_files": 0, "screenshots": 1}
    assert log.read_text() == "2026-03-01 00:00:00,000 INFO recent line\n  continuation of recent\n"
    assert not old_png.exists()


def test_every_key_class_is_matched_and_the_fence_comes_before_the_lease() -> None:
    assert key_class("gd:lock:conv:cv_abc:fence").pattern == "gd:lock:conv:*:fence"  # type: ignore[union-attr]
    assert key_class("gd:lock:conv:cv_abc").ttl_s is not None  # type: ignore[union-attr]
    assert key_class("gd:something:new") is None
    no_ttl = {c.pattern for c in REDIS_KEYS if c.ttl_s is None}
    assert no_ttl == {"gd:turns", "gd:turns:dead", "gd:lock:conv:*:fence"}
    assert all(c.bounded_by for c in REDIS_KEYS if c.ttl_s is None)


async def test_the_flow_run_fake_deletes_only_runs_naming_the_subject() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    runs = MemoryFlowRuns(
        [
            {"id": "r1", "parameters": {"message_ids": ["msg_subject01", "msg_other0001"]}, "end_time": now},
            {"id": "r2", "parameters": {"message_ids": ["msg_other0002"]}, "end_time": now},
        ],
        logs=[{"flow_run_id": "r1", "message": "turn msg_subject01 failed"}],
    )
    result = await runs.erase_naming(Matcher(["msg_subject01"]), since=None, dry_run=False)
    assert (result.flow_runs, result.logs_left) == (1, 1) and set(runs.runs) == {"r2"}
    assert await runs.delete_finished_before(now + timedelta(days=1), dry_run=True) == 1 and "r2" in runs.runs


async def test_a_worker_session_run_is_erased_when_one_of_its_task_runs_names_the_subject() -> None:
    """Session runs name no message in their parameters; the turn's task runs do (``step[msg_…]``)."""
    runs = MemoryFlowRuns(
        [{"id": "s1", "parameters": {"worker": "w1"}}, {"id": "s2", "parameters": {"worker": "w1"}}],
        task_runs=[
            {"name": "turn[msg_subject01]", "flow_run_id": "s1"},
            {"name": "load_turn[msg_other0001]", "flow_run_id": "s1"},
            {"name": "turn[msg_other0002]", "flow_run_id": "s2"},
        ],
        logs=[{"flow_run_id": "s1", "message": "load_turn msg_…: done"}],  # lines carry no ids
    )
    result = await runs.erase_naming(Matcher(["msg_subject01"]), since=None, dry_run=False)
    assert (result.flow_runs, result.logs_left) == (1, 0) and set(runs.runs) == {"s2"}
    assert [t["name"] for t in runs.task_runs] == ["turn[msg_other0002]"]


def test_the_record_names_recipients_from_the_configuration(tmp_path: Path) -> None:
    plain = build_ropa(Settings(var_dir=tmp_path))
    names = [r.name for r in plain.recipients]
    assert not any("LLM" in n for n in names) and not any(n.startswith("Twilio") for n in names)
    live = build_ropa(
        Settings(
            var_dir=tmp_path,
            llm_base_url="https://llm.example.com/v1",
            llm_model="m",
            twilio_auth_token="real-token",
            relay_host="smtp.example.com",
        )
    )
    by_name = {r.name: r for r in live.recipients}
    assert any(n.startswith("LLM provider") and "llm.example.com" in n for n in by_name)
    assert "Twilio Inc. (SMS)" in by_name and any(n.startswith("SMTP relay smtp.example.com") for n in by_name)
    assert live.retention_days["messages"] == Settings().retention_messages_days
    text = render_markdown(live)
    assert "| Twilio Inc. (SMS) |" in text and "Redis gd:turns" in text
