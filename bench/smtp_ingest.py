"""Inbound SMTP: aiosmtplib sends N messages into ``glassdesk smtp`` until each is stored and queued.

    .venv/bin/python bench/smtp_ingest.py [--quick] [--messages 600] [--levels 1,4,16]

The bench starts its own isolated stack (bench/_stack.py): embedded Redis, demo data and the product's
``glassdesk smtp`` child (services/email_ingest.py: parse, blob store, SQL insert, timeline event, XADD, 250)
on 127.0.0.1 under a temporary GLASSDESK_VAR_DIR. No worker runs, so the turns stay on the stream and
can be counted. Bodies are the real email fixtures in /work/shared/data/emails (reply-parser test
mails, 108 files; ``.eml`` files are sent as they are with a fresh Message-ID, the text ones as the
body of a new message). Each message has a unique Message-ID and one of 200 senders.

Per concurrency level: C clients, each with one SMTP connection that sends up to 20 messages (the
server's per-session cap) and then reconnects. Measured: SMTP transaction time (MAIL..DATA->250, by
``send_message``), connect time, and end-to-end accepted msgs/s = N / (first send -> the moment the SQL
store holds all N (messages + quarantine) and gd:turns holds one entry per stored message).

Writes bench/results/smtp_ingest.json (smtp_ingest_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import sqlite3
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, hard_limit, machine, now_iso, running, summary_ms, versions, write_result

DATA = Path("/work/shared/data/emails")
PER_SESSION = 20  # SmtpLimits.max_messages_per_session


def load_fixtures(folder: Path) -> list[tuple[str, bytes | str]]:
    out: list[tuple[str, bytes | str]] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "MANIFEST.csv":
            continue
        raw = path.read_bytes()
        if path.suffix == ".eml":
            out.append(("eml", raw))
        else:
            out.append(("text", raw.decode("utf-8", errors="replace")))
    return out


def build_message(i: int, fixture: tuple[str, bytes | str], run: str) -> EmailMessage:
    kind, content = fixture
    mid = f"<bench-{run}-{i}-{uuid.uuid4().hex[:8]}@bench.example>"
    if kind == "eml":
        msg = email.message_from_bytes(content, policy=email.policy.SMTP)  # type: ignore[arg-type]
        for h in ("Message-ID", "To", "Auto-Submitted", "Precedence"):
            del msg[h]
        if msg["From"] is None:
            msg["From"] = f"customer{i % 200}@example.com"
        msg["To"] = "support@glassdesk.local"
        msg["Message-ID"] = mid
        return msg  # type: ignore[return-value]
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"Customer {i % 200} <customer{i % 200}@example.com>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = f"Frage zu Bestellung {40000 + i}"
    msg["Message-ID"] = mid
    msg.set_content(content)  # type: ignore[arg-type]
    return msg


def store_counts(db_path: Path, redis_url: str) -> tuple[int, int, int]:
    import redis

    db = sqlite3.connect(db_path, timeout=10)
    try:
        stored = db.execute(
            "select count(*) from messages where channel = 'email' and direction = 'inbound'"
        ).fetchone()[0]
        quarantined = db.execute("select count(*) from quarantine").fetchone()[0]
    finally:
        db.close()
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        queued = client.xlen("gd:turns")
    finally:
        client.close()
    return stored, quarantined, queued


async def run_level(port: int, msgs: list[EmailMessage], concurrency: int, *, timeout: float) -> dict[str, Any]:
    import aiosmtplib

    queue = iter(msgs)
    tx_ms: list[float] = []
    connect_ms: list[float] = []
    codes: dict[str, int] = {}

    async def client() -> None:
        done = False
        while not done:
            t0 = time.perf_counter()
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=timeout, start_tls=False)
            try:
                await smtp.connect()
            except Exception as exc:  # noqa: BLE001
                codes[f"connect:{type(exc).__name__}"] = codes.get(f"connect:{type(exc).__name__}", 0) + 1
                return
            connect_ms.append((time.perf_counter() - t0) * 1000)
            try:
                for _ in range(PER_SESSION):
                    msg = next(queue, None)
                    if msg is None:
                        done = True
                        break
                    t1 = time.perf_counter()
                    try:
                        await smtp.send_message(
                            msg, sender=f"bounce{len(tx_ms)}@example.com", recipients=["support@glassdesk.local"]
                        )
                        key = "250"
                    except aiosmtplib.SMTPResponseException as exc:
                        key = str(exc.code)
                    except Exception as exc:  # noqa: BLE001
                        key = type(exc).__name__
                    tx_ms.append((time.perf_counter() - t1) * 1000)
                    codes[key] = codes.get(key, 0) + 1
                    if key != "250" and not smtp.is_connected:
                        break
            finally:
                try:
                    await smtp.quit()
                except Exception:  # noqa: BLE001
                    smtp.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {
        "concurrency": concurrency,
        "messages": len(msgs),
        "smtp_codes": codes,
        "send_phase_s": round(time.perf_counter() - t0, 3),
        "t_start": t0,
        "smtp_transaction_ms": summary_ms(tx_ms),
        "connect_ms": summary_ms(connect_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 messages per level")
    parser.add_argument("--messages", type=int, default=600, help="messages per concurrency level")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--timeout", type=float, default=30.0, help="SMTP command timeout")
    parser.add_argument("--limit", type=int, default=300, help="hard wall-clock limit (s)")
    args = parser.parse_args()
    if args.quick:
        args.messages = 100
    hard_limit(args.limit)
    levels = [int(x) for x in args.levels.split(",")]
    fixtures = load_fixtures(DATA)
    if not fixtures:
        raise SystemExit(f"no fixtures under {DATA}")
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    stack = Stack(prefect=False, web=False, worker=False, smtp=True)
    with running(stack):
        try:
            # warm-up: first parse imports, first blob dir, first SQL connection
            asyncio.run(
                run_level(
                    stack.smtp_port, [build_message(i, fixtures[i], "warm") for i in range(5)], 1, timeout=args.timeout
                )
            )
            for c in levels:
                base = store_counts(stack.db_path, stack.redis_url)
                msgs = [build_message(i, fixtures[i % len(fixtures)], f"c{c}") for i in range(args.messages)]
                res = asyncio.run(run_level(stack.smtp_port, msgs, c, timeout=args.timeout))
                accepted = res["smtp_codes"].get("250", 0)
                deadline = time.perf_counter() + 60
                while True:
                    stored, quarantined, queued = store_counts(stack.db_path, stack.redis_url)
                    d_stored, d_quar, d_queued = stored - base[0], quarantined - base[1], queued - base[2]
                    if (d_stored + d_quar >= accepted and d_queued >= d_stored) or time.perf_counter() > deadline:
                        break
                    time.sleep(0.05)
                end = time.perf_counter()
                t_start = res.pop("t_start")
                res.update(
                    {
                        "accepted_250": accepted,
                        "stored_messages": d_stored,
                        "quarantined": d_quar,
                        "queued_turns": d_queued,
                        "all_persisted_and_queued": d_stored + d_quar == accepted and d_queued == d_stored,
                        "persisted_after_last_250_ms": round((end - t_start - res["send_phase_s"]) * 1000, 1),
                        "end_to_end_s": round(end - t_start, 3),
                        "accepted_msgs_per_s": round(accepted / (end - t_start), 1),
                        "loadavg_1m_after": round(os.getloadavg()[0], 2),
                    }
                )
                results.append(res)
                print(
                    json.dumps(
                        {
                            k: res[k]
                            for k in (
                                "concurrency",
                                "accepted_msgs_per_s",
                                "smtp_transaction_ms",
                                "all_persisted_and_queued",
                                "smtp_codes",
                            )
                        }
                    ),
                    flush=True,
                )
        except Exception as exc:  # noqa: BLE001 - partial results are still written
            errors.append(f"{type(exc).__name__}: {exc}")
            print("error:", errors[-1], flush=True)
        log_counts = stack.log_counts()
    import signal

    signal.alarm(0)
    sizes = [len(build_message(i, f, "size").as_bytes()) for i, f in enumerate(fixtures)]
    result = {
        "benchmark": "smtp_ingest" + ("_quick" if args.quick else ""),
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("aiosmtpd", "aiosmtplib", "sqlalchemy", "aiosqlite", "redis"),
        "parameters": {
            "messages_per_level": args.messages,
            "levels": levels,
            "per_session_messages": PER_SESSION,
            "fixtures": len(fixtures),
            "fixture_bytes": {"min": min(sizes), "max": max(sizes), "mean": round(sum(sizes) / len(sizes))},
        },
        "setup": (
            "`glassdesk smtp` child (aiosmtpd, persist-then-250) on 127.0.0.1, SQLite + blobs under a temp "
            "GLASSDESK_VAR_DIR, embedded Redis; no worker (turns stay queued and are counted). "
            "aiosmtplib clients in the bench process on the same 2 cores, plain SMTP (no TLS, no AUTH)."
        ),
        "method": (
            "accepted_msgs_per_s = 250 answers / (first send -> SQL holds every accepted message "
            "(messages + quarantine) and gd:turns holds one entry per stored message); "
            "smtp_transaction_ms = aiosmtplib send_message (MAIL, RCPT, DATA -> 250) on an open connection"
        ),
        "runs": results,
        "server_log_counts": log_counts,
        "errors": errors,
        "notes": [
            "The 250 comes after the SQL commit and XADD (R1), so persisted_after_last_250_ms is ~0: every "
            "accepted message is already stored and queued when the client sees 250.",
            "The server caps a session at 20 messages (421 after); clients reconnect, connect_ms is separate.",
            "Two .eml fixtures have lines longer than 998 bytes (RFC 5321); aiosmtpd answers 500 'Line too "
            "long' and they are not stored: expected behaviour, counted under smtp_codes['500'].",
        ],
    }
    path = write_result(result["benchmark"], result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
