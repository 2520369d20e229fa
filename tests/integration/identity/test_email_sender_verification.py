"""Email senders verified by a one-time code (issue 12, item 4): the code travels to the sender's own
address through a real SMTP relay, is entered on the status page, works once, and the next email turn
of the now verified sender gets back-office look-ups (the real ``load_turn`` and ``look_up`` steps over
the seeded SQL back office). Before it, the same turn reads nothing. The code is never stored or logged
in clear, and a forged From never receives it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conversation import ChannelKind, EmailAddress, EventType, InboundMessage
from knowledge.backoffice import Lookups, SqlBackOffice, seed_backoffice
from services.ingest import Ingestor
from tests.integration.identity.conftest import IdentityApp, identity_app

ANNA_EMAIL = "anna.schmidt@example.com"  # the demo back office's Anna Schmidt, CUST-1001


@pytest.fixture(scope="module")
def app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityApp]:
    var_dir = tmp_path_factory.mktemp("email-verify")
    import asyncio

    asyncio.run(seed_backoffice(var_dir / "backoffice.db"))
    with identity_app(var_dir, redis_url) as a:
        yield a


class _NoArticles:
    def search(self, query: str, *, language: str, k: int) -> list[Any]:
        return []


def _turn(app: IdentityApp, conversation_id: str, message_id: str) -> Any:
    """The turn's own first steps: who is the customer (load_turn), then the look-ups (look_up)."""
    from flows.steps import load_turn, look_up
    from flows.turn_work import TurnDeps, TurnWork
    from understanding.facade import Understanding

    async def run(services):  # type: ignore[no-untyped-def]
        sql = SqlBackOffice.from_path(services.settings.var_dir / "backoffice.db")
        try:
            kit: Any = type("Kit", (), {"lookups": Lookups(sql), "kb": _NoArticles()})()
            deps = TurnDeps(services=services, kit=kit)
            work = await load_turn(deps, TurnWork(message_id=message_id, conversation_id=conversation_id))
            work.understanding = Understanding.model_construct(intent="order_status", confidence=0.95)
            work.redacted_text = "Where is my order 10023?"
            return await look_up(deps, work)
        finally:
            await sql.aclose()

    return app.server.call(run, timeout=20)


def _email(app: IdentityApp, address: str, text: str) -> tuple[str, str]:
    async def accept(services):  # type: ignore[no-untyped-def]
        result = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.EMAIL,
                external_id=f"<{uuid.uuid4()}@mail.example.com>",
                address=EmailAddress(address=address),
                text=text,
            )
        )
        return result.conversation.id, result.message.id

    return app.server.call(accept)


def _status_token(app: IdentityApp, conversation_id: str) -> str:
    async def read(services):  # type: ignore[no-untyped-def]
        return (await services.messages.get_conversation(conversation_id)).status_token

    return app.server.call(read)


def test_code_by_email_then_status_page_verifies_and_the_next_turn_gets_lookups(
    app: IdentityApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conv_id, first = _email(app, ANNA_EMAIL, "Wo ist meine Bestellung 10023?")
    before = _turn(app, conv_id, first)
    assert before.customer_id == "CUST-1001" and before.identity_verified is False
    assert before.lookup_records == []  # an unverified From reads nothing

    token = _status_token(app, conv_id)
    page = httpx.get(f"{app.server.base_url}/status/{token}")
    assert 'id="verify"' in page.text and "Email me a code" in page.text

    sent = httpx.post(f"{app.server.base_url}/status/{token}/verify", json={})
    assert sent.status_code == 200 and sent.json()["outcome"] == "code_sent"
    mails = app.relay.to(ANNA_EMAIL)
    assert len(mails) == 1
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert f"/status/{token}" in body  # where to enter it
    code = app.relay.code_for(ANNA_EMAIL)

    async def stored(services):  # type: ignore[no-untyped-def]
        return await services.redis.hgetall(f"gd:otp:{conv_id}")

    entry = app.server.call(stored)
    assert code not in "".join(entry.values()) and len(entry["h"]) == 64  # an HMAC, not the code

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    bad = httpx.post(f"{app.server.base_url}/status/{token}/verify/confirm", json={"code": wrong})
    assert bad.status_code == 409 and bad.json()["outcome"] == "wrong_code" and "4" in bad.json()["detail"]
    ok = httpx.post(f"{app.server.base_url}/status/{token}/verify/confirm", json={"code": code})
    assert ok.status_code == 200 and ok.json()["outcome"] == "verified"
    again = httpx.post(f"{app.server.base_url}/status/{token}/verify/confirm", json={"code": code})
    assert again.json()["outcome"] == "no_code"  # single use

    async def facts(services):  # type: ignore[no-untyped-def]
        ident = await services.messages.find_identity(EmailAddress(address=ANNA_EMAIL))
        events = [e.type for e in await services.timeline.list_events(conv_id)]
        return ident.verified, events

    verified, events = app.server.call(facts)
    assert verified is True and EventType.IDENTITY_VERIFIED in events
    assert "Your email address is confirmed" in httpx.get(f"{app.server.base_url}/status/{token}").text

    _, second = _email(app, ANNA_EMAIL, "Und wo ist Bestellung 10023 jetzt?")
    after = _turn(app, conv_id, second)
    assert after.identity_verified is True
    assert [(r.tool, r.ok) for r in after.lookup_records] == [("order_status", True)]
    assert after.lookups[0].order_number == "10023"

    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("glassdesk", "uvicorn"))]
    assert ours, "the glassdesk loggers said nothing: the check below would prove nothing"
    assert not [line for line in ours if code in line or ANNA_EMAIL in line.lower()]


def test_a_forged_from_never_sees_the_code_and_other_channels_have_no_email_form(app: IdentityApp) -> None:
    victim = f"victim.{uuid.uuid4().hex[:8]}@example.com"
    conv_id, _ = _email(app, victim, "Please tell me my contract details.")
    token = _status_token(app, conv_id)
    sent = httpx.post(f"{app.server.base_url}/status/{token}/verify", json={})
    assert sent.status_code == 200
    # whoever forged the From header: the code went to that address's mailbox and nowhere else
    code = app.relay.code_for(victim)
    with app.relay.lock:
        carrying = [
            rcpts
            for rcpts, m in app.relay.messages
            if code in m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        ]
    assert carrying == [(victim,)]
    typed = httpx.post(f"{app.server.base_url}/status/{token}/verify/confirm", json={"code": "12ab56"})
    assert typed.status_code == 409 and typed.json()["outcome"] == "wrong_code"

    async def sms_conv(services):  # type: ignore[no-untyped-def]
        from conversation import PhoneAddress

        result = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.SMS,
                external_id="SM" + uuid.uuid4().hex,
                address=PhoneAddress(number="+4915199" + str(uuid.uuid4().int)[:6]),
                text="hallo",
            )
        )
        return result.conversation.status_token

    sms_token = app.server.call(sms_conv)
    assert 'id="verify"' not in httpx.get(f"{app.server.base_url}/status/{sms_token}").text
    assert httpx.post(f"{app.server.base_url}/status/{sms_token}/verify", json={}).status_code == 404


def test_a_reply_that_quotes_the_code_verifies_and_other_replies_cost_no_attempt(app: IdentityApp) -> None:
    from services.email_verification import EmailVerification
    from services.identity import VerifyOutcome

    sender = f"reply.{uuid.uuid4().hex[:8]}@example.com"
    conv_id, _ = _email(app, sender, "Mein Paket fehlt.")

    async def reply(services, text):  # type: ignore[no-untyped-def]
        return await EmailVerification(services).confirm_in_reply(conv_id, text)

    assert app.server.call(lambda s: reply(s, "Code 123456")) is None  # nothing pending: not even an attempt

    async def start(services):  # type: ignore[no-untyped-def]
        return await EmailVerification(services).start(conv_id)

    assert app.server.call(start).outcome is VerifyOutcome.CODE_SENT
    code = app.relay.code_for(sender)
    assert app.server.call(lambda s: reply(s, "Danke, ich schaue nach.")) is None  # no code in it
    quoted = f"Hier ist er: {code}\n\n> Ihr Glassdesk-Bestätigungscode lautet …"
    result = app.server.call(lambda s: reply(s, quoted))
    assert result is not None and result.outcome is VerifyOutcome.VERIFIED

    async def verified(services):  # type: ignore[no-untyped-def]
        return (await services.messages.find_identity(EmailAddress(address=sender))).verified

    assert app.server.call(verified) is True


def test_the_turn_takes_a_quoted_code_and_names_the_contact_after_the_back_office(app: IdentityApp) -> None:
    """The real ``load_turn``: a reply carrying the pending code verifies the sender before the turn
    decides who the customer is, so that very turn gets the look-ups, and the contact (which had no
    name) takes the back-office customer's name for the inbox list."""
    from services.email_verification import EmailVerification
    from services.identity import VerifyOutcome

    john = "john.miller@example.com"  # the demo back office's John Miller (verified nowhere yet)
    conv_id, first = _email(app, john, "Where is my order?")
    before = _turn(app, conv_id, first)
    assert before.identity_verified is False and before.lookup_records == []

    async def start(services):  # type: ignore[no-untyped-def]
        return await EmailVerification(services).start(conv_id)

    assert app.server.call(start).outcome is VerifyOutcome.CODE_SENT
    code = app.relay.code_for(john)
    _, reply = _email(app, john, f"Here it is: {code}\nWhere is my order 10023?")
    after = _turn(app, conv_id, reply)
    assert after.identity_verified is True and after.customer_id is not None

    async def contact(services):  # type: ignore[no-untyped-def]
        c = await services.messages.contact_for(conv_id)
        ident = await services.messages.find_identity(EmailAddress(address=john))
        return c.display_name, c.backoffice_customer_id, ident.verified

    assert app.server.call(contact) == ("John Miller", after.customer_id, True)
