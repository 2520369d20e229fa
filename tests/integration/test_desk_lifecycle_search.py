"""The desk's lifecycle, ticket numbers, search and keyset pages on the real SQL backends (SQLite here;
PostgreSQL too when GLASSDESK_TEST_DATABASE_URL is set): the reopen trigger, the FTS5 index kept by
triggers, and the tsvector path."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import pytest
from sqlalchemy import delete, select

from conversation import ChannelKind, ConversationStatus, InboundMessage, PhoneAddress, Priority, utcnow
from conversation.addresses import EmailAddress
from conversation.sql import Database, SqlMessageStore
from conversation.sql import schema as t
from conversation.sql.desk import BadCursor, DeskQueries, DeskSort, DeskState, DeskView, parse_ticket, ticket_label
from conversation.sql.desk_store import DeskStore
from services.settings import Settings
from services.sla import resume_reopened_clock


async def _sms(store: SqlMessageStore, number: str, text: str, *, name: str | None = None) -> tuple[str, str]:
    result = await store.ingest(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id="SM" + uuid.uuid4().hex,
            address=PhoneAddress(number=number),
            text=text,
            display_name=name,
        )
    )
    return result.conversation.id, result.message.id


async def _handed_off(store: SqlMessageStore, cid: str, *, hours: float = 2.0, **kw: object) -> None:
    await store.route_conversation(
        cid,
        ConversationStatus.HANDED_OFF,
        queue=str(kw.get("queue", "claims")),
        priority=kw.get("priority", Priority.NORMAL),  # type: ignore[arg-type]
        sla_due_at=utcnow() + dt.timedelta(hours=hours),
    )


ALWAYS_OPEN = Settings(business_hours="mon-sun 00:00-24:00", timezone="UTC")


def _number(n: int) -> str:
    return f"+49151{n:08d}"


async def test_pending_stops_the_sla_and_a_customer_reply_reopens_with_the_time_left(database: Database) -> None:
    store, desk, queries = SqlMessageStore(database), DeskStore(database), DeskQueries(database)
    cid, _ = await _sms(store, _number(1), "Mein Schaden 4711 ist noch offen")
    await _handed_off(store, cid, hours=2)
    open_ids = [r.conversation_id for r in (await queries.page(DeskView())).rows]
    assert cid in open_ids

    change = await desk.set_state(cid, DeskState.PENDING)
    assert change.before is DeskState.OPEN and change.sla_due_at is None
    assert change.sla_remaining_s is not None and 7100 < change.sla_remaining_s <= 7200
    assert cid not in [r.conversation_id for r in (await queries.page(DeskView())).rows]
    pending = (await queries.page(DeskView(state=DeskState.PENDING))).rows
    assert [r.conversation_id for r in pending] == [cid] and pending[0].sla_due_at is None
    assert all(q.queue != "claims" or q.waiting == 0 for q in await queries.queues())

    await _sms(store, _number(1), "Hier sind die Fotos")  # the customer answers: the trigger reopens
    row = await queries.row(cid)
    assert row is not None and row.desk_state is DeskState.OPEN and row.sla_due_at is None  # paused until resumed
    # the ingest path resumes the clock in the queue's business hours (here: always open)
    assert await resume_reopened_clock(database, cid, settings=ALWAYS_OPEN)
    row = await queries.row(cid)
    assert row is not None and row.desk_state is DeskState.OPEN and row.sla_remaining_s is None
    assert row.sla_due_at is not None
    left = (row.sla_due_at - utcnow()).total_seconds()
    assert 7000 < left <= 7201, left  # the clock did not run while pending

    await desk.set_state(cid, DeskState.RESOLVED)
    await _sms(store, _number(1), "Danke!")
    assert (await queries.row(cid)).desk_state is DeskState.OPEN  # type: ignore[union-attr]


async def test_a_snooze_ends_by_itself_and_closed_starts_a_new_conversation(database: Database) -> None:
    store, desk, queries = SqlMessageStore(database), DeskStore(database), DeskQueries(database)
    cid, _ = await _sms(store, _number(2), "Rückruf bitte morgen")
    await _handed_off(store, cid)
    until = utcnow() + dt.timedelta(hours=3)
    await desk.set_state(cid, DeskState.SNOOZED, snoozed_until=until)
    assert (await queries.row(cid)).desk_state is DeskState.SNOOZED  # type: ignore[union-attr]
    assert cid not in [r.conversation_id for r in (await queries.page(DeskView())).rows]
    later = until + dt.timedelta(minutes=1)
    assert (await queries.row(cid, now=later)).desk_state is DeskState.OPEN  # type: ignore[union-attr]
    assert cid in [r.conversation_id for r in (await queries.page(DeskView(), now=later)).rows]

    await desk.set_state(cid, DeskState.CLOSED)
    conv = await store.get_conversation(cid)
    assert conv.status is ConversationStatus.CLOSED
    new_cid, _ = await _sms(store, _number(2), "Noch eine Frage")
    assert new_cid != cid
    assert (await queries.row(cid)).desk_state is DeskState.CLOSED  # type: ignore[union-attr]


async def test_ticket_numbers_are_readable_unique_and_searchable(database: Database) -> None:
    store, queries, desk = SqlMessageStore(database), DeskQueries(database), DeskStore(database)
    ids = [(await _sms(store, _number(10 + i), f"Frage {i}"))[0] for i in range(3)]
    numbers = [await desk.ticket_number(c) for c in ids]
    assert all(n is not None and n >= 10001 for n in numbers)
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert ticket_label(numbers[1]) == f"GD-{numbers[1]}"
    assert parse_ticket(f"gd-{numbers[1]}") == numbers[1] and parse_ticket("hello") is None
    for query in (f"GD-{numbers[1]}", f"gd{numbers[1]}", str(numbers[1])):
        found = (await queries.page(DeskView(state=None, search=query))).rows
        assert ids[1] in [r.conversation_id for r in found], query
        assert ids[0] not in [r.conversation_id for r in found], query


async def test_search_finds_words_order_numbers_names_and_addresses(database: Database) -> None:
    store, queries = SqlMessageStore(database), DeskQueries(database)
    anna, _ = await _sms(
        store, _number(20), "Wo ist meine Bestellung 10023? Die Lieferung über DHL", name="Anna Schmidt"
    )
    john, _ = await _sms(store, _number(21), "Where is my parcel from order 55501?", name="John Miller")

    async def found(q: str) -> list[str]:
        return [r.conversation_id for r in (await queries.page(DeskView(state=None, search=q))).rows]

    assert anna in await found("10023") and john not in await found("10023")
    assert anna in await found("bestell")  # a word's beginning
    assert john in await found("parcel order") and anna not in await found("parcel order")
    assert anna in await found("Anna Schmidt") and anna in await found("schmidt")
    assert anna in await found(_number(20)[-8:])  # part of the phone number
    assert await found("nothing-like-this-anywhere") == []
    if database.is_sqlite:
        assert anna in await found("uber")  # diacritics folded (SQLite FTS5 unicode61)


async def test_deleting_a_message_removes_it_from_search(database: Database) -> None:
    store, queries = SqlMessageStore(database), DeskQueries(database)
    cid, mid = await _sms(store, _number(30), "secret canarytokenqwz in my message")
    _, keep = await _sms(store, _number(30), "second message stays")

    async def found(q: str) -> list[str]:
        return [r.conversation_id for r in (await queries.page(DeskView(state=None, search=q))).rows]

    assert cid in await found("canarytokenqwz")
    async with database.begin() as conn:
        await conn.execute(delete(t.messages).where(t.messages.c.id == mid))
    assert await found("canarytokenqwz") == []
    assert cid in await found("second")
    if not database.is_sqlite:
        return
    async with database.read() as conn:
        docs = (await conn.execute(select(t.search_docs.c.message_id))).scalars().all()
    assert mid not in docs and keep in docs
    # the conversation's last message goes too (erasure, retention): no byte of its words stays behind
    async with database.begin() as conn:
        await conn.execute(delete(t.messages).where(t.messages.c.conversation_id == cid))
    path = database.engine.url.database
    assert path
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        hits = []
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'search%'"):
            for row in con.execute(f'SELECT * FROM "{name}"'):
                for v in row:
                    raw = v if isinstance(v, bytes) else str(v).encode()
                    if b"canarytokenqwz" in raw:
                        hits.append(name)
    finally:
        con.close()
    assert hits == []


@pytest.mark.parametrize("sort", list(DeskSort))
async def test_keyset_pages_cover_every_row_once_in_order(database: Database, sort: DeskSort) -> None:
    store, queries = SqlMessageStore(database), DeskQueries(database)
    queue = "pages-" + sort.value
    made = []
    for i in range(7):
        cid, _ = await _sms(store, _number(100 + i + 10 * list(DeskSort).index(sort)), f"page test {i}")
        priority = [Priority.LOW, Priority.URGENT, Priority.NORMAL][i % 3]
        await _handed_off(store, cid, hours=1 + (i * 5) % 7, queue=queue, priority=priority)
        made.append(cid)
    everything = (await queries.page(DeskView(queue=queue, sort=sort, limit=100))).rows
    assert sorted(r.conversation_id for r in everything) == sorted(made)
    seen, cursor = [], None
    for _ in range(5):
        page = await queries.page(DeskView(queue=queue, sort=sort, limit=3, cursor=cursor))
        seen += [r.conversation_id for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [r.conversation_id for r in everything]
    if sort is DeskSort.SLA:
        dues = [r.sla_due_at for r in everything]
        assert dues == sorted(dues)  # type: ignore[type-var]
    if sort is DeskSort.PRIORITY:
        assert [r.priority for r in everything][:3] == [Priority.URGENT, Priority.URGENT, Priority.NORMAL]
    with pytest.raises(BadCursor):
        await queries.page(DeskView(queue=queue, sort=sort, cursor="bm9wZQ"))


async def test_email_address_search(database: Database) -> None:
    store, queries = SqlMessageStore(database), DeskQueries(database)
    result = await store.ingest(
        InboundMessage(
            channel=ChannelKind.EMAIL,
            external_id=f"<{uuid.uuid4()}@example.com>",
            address=EmailAddress(address="maria.keller@example.org"),
            text="Hallo",
        )
    )
    rows = (await queries.page(DeskView(state=None, search="maria.keller@"))).rows
    assert result.conversation.id in [r.conversation_id for r in rows]
