"""The desk's lists on SQLite: search (FTS5), keyset pages and erasure's cost on the search index.

    .venv/bin/python bench/desk_search.py [--conversations 5000] [--messages 4] [--quick]

Seeds ``conversations`` × ``messages`` customer messages straight into a fresh SQLite file (the
search triggers fire on every insert), then times: the default list ("waiting for people", 50 rows),
page 2 by cursor, a word search, an order-number search, a ticket-number search, a name search, and
deleting one conversation's messages (which optimises the FTS5 index). Writes
bench/results/desk_search.json (desk_search_quick.json with --quick) with the load average."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from conversation.ids import new_id, new_reply_token, new_token
from conversation.models import utcnow
from conversation.sql import Database, upgrade_database
from conversation.sql import schema as t
from conversation.sql.desk import DeskQueries, DeskView

HERE = Path(__file__).resolve().parent
WORDS = "bestellung paket lieferung rechnung schaden foto versicherung rückgabe adresse frage hilfe dhl".split()


async def _seed(db: Database, conversations: int, per: int) -> list[str]:
    now = utcnow()
    ids = []
    rng = random.Random(7)
    for start in range(0, conversations, 500):
        contacts, convs, msgs = [], [], []
        for i in range(start, min(conversations, start + 500)):
            ct, cv = new_id("ct"), new_id("cv")
            ids.append(cv)
            contacts.append({"id": ct, "display_name": f"Kunde {i}", "created_at": now})
            convs.append(
                {
                    "id": cv,
                    "contact_id": ct,
                    "channel": "sms",
                    "status": "handed_off",
                    "queue": "q",
                    "priority": "normal",
                    "status_token": new_token(),
                    "reply_token": new_reply_token(),
                    "last_seq": per,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for s in range(1, per + 1):
                text = " ".join(rng.choice(WORDS) for _ in range(12)) + f" Bestellung {10000 + i}"
                msgs.append(
                    {
                        "id": new_id("msg"),
                        "conversation_id": cv,
                        "seq": s,
                        "direction": "inbound",
                        "author_kind": "customer",
                        "channel": "sms",
                        "external_id": new_id("SM"),
                        "text": text,
                        "attachments": [],
                        "meta": {},
                        "created_at": now,
                    }
                )
        async with db.begin() as conn:
            await conn.execute(insert(t.contacts), contacts)
            await conn.execute(insert(t.conversations), convs)
            await conn.execute(insert(t.messages), msgs)
    return ids


async def _timed(fn: Any, runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "max_ms": round(times[-1], 2), "runs": runs}


async def main(conversations: int, per: int, runs: int, out: Path) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade_database, url)
        db = Database(url)
        t0 = time.perf_counter()
        ids = await _seed(db, conversations, per)
        seed_s = time.perf_counter() - t0
        q = DeskQueries(db)
        first = await q.page(DeskView())
        number = 10001 + conversations // 2
        results = {
            "list_first_page": await _timed(lambda: q.page(DeskView()), runs),
            "list_page_2": await _timed(lambda: q.page(DeskView(cursor=first.next_cursor)), runs),
            "search_word": await _timed(lambda: q.page(DeskView(state=None, search="versicherung foto")), runs),
            "search_order_number": await _timed(lambda: q.page(DeskView(state=None, search="10042")), runs),
            "search_ticket": await _timed(lambda: q.page(DeskView(state=None, search=f"GD-{number}")), runs),
            "search_name": await _timed(lambda: q.page(DeskView(state=None, search="Kunde 4")), runs),
        }
        victims = iter(ids[:runs])

        async def erase_one() -> None:
            cid = next(victims)
            async with db.begin() as conn:
                await conn.execute(delete(t.messages).where(t.messages.c.conversation_id == cid))

        results["delete_conversation_messages_with_fts_optimize"] = await _timed(erase_one, runs)
        size_mb = round(Path(f"{tmp}/bench.db").stat().st_size / 1e6, 1)
        await db.dispose()
    report = {
        "conversations": conversations,
        "messages": conversations * per,
        "seed_s": round(seed_s, 1),
        "db_mb": size_mb,
        "results": results,
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.runs = 500, 5
    name = "desk_search_quick.json" if args.quick else "desk_search.json"
    print(
        json.dumps(asyncio.run(main(args.conversations, args.messages, args.runs, HERE / "results" / name)), indent=2)
    )
