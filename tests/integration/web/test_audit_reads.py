"""Who read what: an agent opening a conversation is in the audit log (the agent and the id, not the
content), and the log the web app writes stays one intact chain."""

from __future__ import annotations

import itertools

from conversation import ChannelKind, InboundMessage, PhoneAddress
from services.ingest import Ingestor
from tests.browser.live_server import LiveServer
from tests.support.staff import login

_numbers = itertools.count(1)


def _conversation(server: LiveServer) -> str:
    n = next(_numbers)

    async def make(s):  # type: ignore[no-untyped-def]
        result = await Ingestor(s).accept(
            InboundMessage(
                channel=ChannelKind.SMS,
                external_id=f"SMread{n:028d}",
                address=PhoneAddress(number=f"+4915177700{n:03d}"),
                text="my secret order question",
            )
        )
        return result.conversation.id

    return str(server.call(make))


def test_opening_a_conversation_is_audited_without_its_content(staff_server: LiveServer) -> None:
    conversation_id = _conversation(staff_server)
    client, _ = login(staff_server, "agent1")
    assert client.get(f"/inbox/c/{conversation_id}").status_code == 200
    assert client.get("/inbox/c/conv_00000000000000000000000000").status_code == 404
    entries = staff_server.call(lambda s: s.audit.entries(limit=50))
    viewed = [e for e in entries if e["action"] == "inbox.conversation_viewed"]
    assert [(e["actor"], e["object_id"]) for e in viewed] == [("agent1", conversation_id)]
    assert "my secret order question" not in repr(entries)
    admin, _ = login(staff_server, "admin1")
    assert admin.get(f"/inbox/c/{conversation_id}").status_code == 200
    latest = staff_server.call(lambda s: s.audit.entries(limit=1))[0]
    assert (latest["action"], latest["actor"], latest["data"]) == (
        "inbox.conversation_viewed",
        "admin1",
        {"role": "admin"},
    )


def test_the_log_the_app_wrote_is_one_intact_chain(staff_server: LiveServer) -> None:
    login(staff_server, "ops1")
    report = staff_server.call(lambda s: s.audit.verify())
    assert report.ok, report.broken
    assert report.entries >= 3  # the logins of this module at least
