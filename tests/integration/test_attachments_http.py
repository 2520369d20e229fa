"""Attachments over real HTTP (uvicorn, Redis, SQLite, a recording aiosmtpd relay, a local Twilio
endpoint and a local media host on 127.0.0.1):

- the inbox serves an attachment from the blob store with nosniff, a sandboxing CSP, an RFC 5987
  file name, inline only for PNG/JPEG/GIF/WebP/PDF whose bytes match, SVG and HTML as downloads, 413
  past the size limit, 404 for ids of another conversation;
- an agent's email reply with a file arrives over SMTP with the MIME part; an SMS reply with a file is
  refused; too many and too large files are refused with the limit;
- the chat customer gets a download link for a file on a reply, opens it, and gets 404 for another
  conversation's attachment;
- MMS media is fetched from an allowed 127.0.0.1 host (following Twilio's redirect, with the account's
  basic auth); a disallowed host and an oversize file are refused, and the message is kept with the note.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from itsdangerous import URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from conversation import Attachment, ChannelKind, Direction, EmailAddress, InboundMessage
from conversation.blobs import store_file
from services.media_fetch import MediaFetch
from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.integration.chat.conftest import chat_client
from tests.integration.web.test_inbox_actions import RecordingRelay, ingest, recording_relay, sms_inbound, wait_for
from tests.support.staff import STAFF, create_staff, forget_login_attempts, login
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port, twilio_signature

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><script>alert(document.cookie)</script></html>"
MAX_BYTES = 300_000
MMS_MAX = 100_000
SMS_PATH = "/webhooks/twilio/sms"


# -- a local media host: Twilio's Media resource (basic auth, redirect to the "CDN") -------------------
@contextlib.contextmanager
def media_host() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    port = free_port()
    seen: list[dict[str, Any]] = []
    expected = "Basic " + base64.b64encode(f"{DEFAULT_SID}:{DEFAULT_TOKEN}".encode()).decode()

    async def media(request: Request) -> Response:
        seen.append({"path": request.url.path, "auth": request.headers.get("authorization") == expected})
        if request.headers.get("authorization") != expected:
            return Response(status_code=401)
        return RedirectResponse(f"/cdn/{request.path_params['media']}", status_code=307)

    async def cdn(request: Request) -> Response:
        seen.append({"path": request.url.path, "auth": "authorization" in request.headers})
        name = request.path_params["media"]
        if name == "big":
            return Response(b"\xff\xd8\xff" + b"0" * (MMS_MAX + 10), media_type="image/jpeg")
        if name == "away":
            return RedirectResponse(f"http://127.0.0.2:{port}/cdn/photo", status_code=302)
        return Response(PNG, media_type="image/png")

    app = Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{account}/Messages/{sid}/Media/{media}", media),
            Route("/cdn/{media}", cdn),
        ]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the media host did not start"
        time.sleep(0.01)
    try:
        yield port, seen
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi, int, list[dict[str, Any]]]]:
    var_dir = tmp_path_factory.mktemp("attachments")
    with media_host() as (media_port, seen), recording_relay() as (relay, relay_port), LocalTwilioApi() as twilio:

        def settings(base: str) -> Settings:
            return Settings(
                var_dir=var_dir,
                redis_url=redis_url,
                public_url=base,
                relay_port=relay_port,
                twilio_api_base=twilio.base_url,
                twilio_account_sid=DEFAULT_SID,
                twilio_auth_token=DEFAULT_TOKEN,
                attachment_max_bytes=MAX_BYTES,
                attachment_max_files=2,
                mms_media_max_bytes=MMS_MAX,
                mms_media_timeout_s=5.0,
                mms_media_hosts=f"127.0.0.1:{media_port}",
            )

        with live_server(settings) as server:
            for username, role in STAFF:
                create_staff(server, username, role)
            forget_login_attempts(server)
            try:
                yield server, relay, twilio, media_port, seen
            finally:
                forget_login_attempts(server)


@pytest.fixture(scope="module")
def agent(stack) -> Iterator[tuple[httpx.Client, str]]:  # type: ignore[no-untyped-def]
    client, csrf = login(stack[0], "agent1")
    yield client, csrf
    client.close()


def _email(text: str, files: list[tuple[str, str, bytes]], server: LiveServer) -> tuple[str, str, list[Attachment]]:
    async def stored(services):  # type: ignore[no-untyped-def]
        return [await store_file(services.blobs, c, filename=n, content_type=t) for n, t, c in files]

    attachments = server.call(stored)
    inbound = InboundMessage(
        channel=ChannelKind.EMAIL,
        external_id=f"<{uuid.uuid4()}@example.com>",
        address=EmailAddress(address=f"k{uuid.uuid4().hex[:8]}@example.com"),
        display_name="Kim Kunde",
        text=text,
        attachments=tuple(attachments),
        meta={"subject": "Claim", "references": []},
    )
    cid, mid = ingest(server, inbound)
    return cid, mid, attachments


def _url(cid: str, mid: str, a: Attachment) -> str:
    return f"/inbox/c/{cid}/messages/{mid}/attachments/{a.id}"


def _take_over(agent: tuple[httpx.Client, str], cid: str) -> None:
    client, csrf = agent
    assert (
        client.post(f"/api/conversations/{cid}/take-over", json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
    )


def _reply(agent: tuple[httpx.Client, str], cid: str, text: str, files: list[tuple[str, bytes, str]]) -> httpx.Response:
    client, csrf = agent
    return client.post(
        f"/api/conversations/{cid}/reply",
        data={"text": text, "client_id": str(uuid.uuid4())},
        files=[("files", f) for f in files],
        headers={"X-CSRF-Token": csrf},
    )


# -- serving ------------------------------------------------------------------------------------------
def test_images_and_pdfs_open_inline_with_safe_headers_everything_else_downloads(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    client = agent[0]
    files = [
        ("Schaden Küche.png", "image/png", PNG),
        ("police.pdf", "application/pdf", PDF),
        ("logo.svg", "image/svg+xml", SVG),
        ("page.html", "text/html", HTML),
        ("fake.png", "image/png", HTML),  # says PNG, is HTML
    ]
    cid, mid, atts = _email("photos of the damage", files, server)
    by_name = {a.filename: a for a in atts}

    png = client.get(_url(cid, mid, by_name["Schaden Küche.png"]))
    assert png.status_code == 200 and png.content == PNG
    assert png.headers["content-type"] == "image/png"
    assert png.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in png.headers["content-security-policy"]
    assert "default-src 'none'" in png.headers["content-security-policy"]
    disposition = png.headers["content-disposition"]
    assert disposition.startswith("inline; ")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == "Schaden Küche.png"
    assert 'filename="Schaden K_che.png"' in disposition  # the ASCII fallback

    pdf = client.get(_url(cid, mid, by_name["police.pdf"]))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline; ")

    for name in ("logo.svg", "page.html", "fake.png"):
        r = client.get(_url(cid, mid, by_name[name]))
        assert r.status_code == 200, name
        assert r.headers["content-type"] == "application/octet-stream", name
        assert r.headers["content-disposition"].startswith("attachment; "), name
        assert r.headers["x-content-type-options"] == "nosniff"

    page = client.get(f"/inbox/c/{cid}")
    assert page.status_code == 200
    assert f'<img src="{_url(cid, mid, by_name["Schaden Küche.png"])}"' in page.text
    assert "police.pdf</a>" in page.text and '<img src="' + _url(cid, mid, by_name["police.pdf"]) not in page.text


def test_past_the_size_limit_is_413_and_other_ids_are_404(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    client = agent[0]
    big = b"%PDF-1.4\n" + b"0" * MAX_BYTES
    cid, mid, (att,) = _email("a large scan", [("scan.pdf", "application/pdf", big)], server)
    r = client.get(_url(cid, mid, att))
    assert r.status_code == 413
    assert str(MAX_BYTES) in r.json()["detail"] and "GLASSDESK_ATTACHMENT_MAX_BYTES" in r.json()["detail"]

    other_cid, other_mid, (other,) = _email("another one", [("a.png", "image/png", PNG)], server)
    assert client.get(_url(cid, mid, other)).status_code == 404  # not an attachment of this message
    assert client.get(_url(cid, other_mid, other)).status_code == 404  # a message of another conversation
    assert client.get(f"/inbox/c/{cid}/messages/{mid}/attachments/..%2Fsecret").status_code == 404
    assert httpx.get(server.base_url + _url(other_cid, other_mid, other)).status_code in (401, 303)  # no login


# -- replies with files ---------------------------------------------------------------------------------
def test_an_email_reply_with_a_file_arrives_over_smtp_with_the_mime_part(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, relay = stack[0], stack[1]
    cid, _, _ = _email("please send the form", [], server)
    _take_over(agent, cid)
    r = _reply(agent, cid, "Here is the claim form.", [("Schadenformular ä.pdf", PDF, "application/pdf")])
    assert r.status_code == 200, r.text
    assert r.json()["attachments"] == 1
    mail = wait_for(
        lambda: [m for m in relay.received() if "Here is the claim form." in m.get_body(("plain",)).get_content()],
        what="the agent's email",
    )[0]
    (part,) = list(mail.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "Schadenformular ä.pdf"
    assert part.get_content() == PDF
    (out,) = [m for m in server.call(lambda s: s.messages.list_messages(cid)) if m.direction is Direction.OUTBOUND]
    assert [(a.filename, a.size, a.sha256) for a in out.attachments] == [
        ("Schadenformular ä.pdf", len(PDF), Attachment.digest(PDF))
    ]
    opened = agent[0].get(_url(cid, out.id, out.attachments[0]))
    assert opened.status_code == 200 and opened.content == PDF


def test_sms_replies_with_files_and_too_many_or_too_large_files_are_refused(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack[0], stack[1], stack[2]
    number = "+4915112345677"
    cid, _ = ingest(server, sms_inbound("my phone screen broke", number))
    _take_over(agent, cid)
    r = _reply(agent, cid, "See the form.", [("form.pdf", PDF, "application/pdf")])
    assert r.status_code == 409 and "SMS replies carry text only" in r.json()["detail"]
    assert [m for m in twilio.messages if m["to"] == number] == []
    assert "SMS replies carry text only" in agent[0].get(f"/inbox/c/{cid}").text

    email_cid, _, _ = _email("hello", [], server)
    _take_over(agent, email_cid)
    three = [(f"f{i}.pdf", PDF, "application/pdf") for i in range(3)]
    r = _reply(agent, email_cid, "three files", three)
    assert r.status_code == 422 and "at most 2 files" in r.json()["detail"]
    r = _reply(agent, email_cid, "a big file", [("big.pdf", b"%PDF" + b"0" * MAX_BYTES, "application/pdf")])
    assert r.status_code == 413 and str(MAX_BYTES) in r.json()["detail"]
    outbound = [
        m for m in server.call(lambda s: s.messages.list_messages(email_cid)) if m.direction is Direction.OUTBOUND
    ]
    assert outbound == []


# -- chat -------------------------------------------------------------------------------------------------
async def test_the_chat_customer_opens_files_of_their_own_conversation_only(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]

    async def chat_conversation(text: str) -> tuple[Any, str, str]:
        context = chat_client(server)
        chat = await context.__aenter__()
        session, _ = await chat.hello()
        await chat.send({"type": "message", "id": str(uuid.uuid4()), "text": text})
        ack = await chat.next("ack")
        msg = await server.acall(lambda s: s.messages.get_message(ack["message_id"]))
        return (context, chat), session["token"], msg.conversation_id

    (ctx_a, chat_a), _, cid_a = await chat_conversation("here is my claim")
    (ctx_b, chat_b), _, cid_b = await chat_conversation("another customer")
    try:
        for cid in (cid_a, cid_b):
            _take_over(agent, cid)
        assert _reply(agent, cid_a, "Your form", [("form A.pdf", PDF, "application/pdf")]).status_code == 200
        assert _reply(agent, cid_b, "Your photo", [("b.png", PNG, "image/png")]).status_code == 200
        reply_a = await chat_a.next("reply")
        links_a = await chat_a.next("attachments")
        (link,) = links_a["items"]
        assert link["message_id"] == reply_a["message_id"] and link["filename"] == "form A.pdf"
        (link_b,) = (await chat_b.next("attachments"))["items"]

        async with httpx.AsyncClient(base_url=server.base_url) as http:
            r = await http.get(link["url"])
            assert r.status_code == 200 and r.content == PDF
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "sandbox" in r.headers["content-security-policy"]
            assert r.headers["content-disposition"].startswith("inline; ")
            token_a = link["url"].split("?t=", 1)[1]
            # A's signed link on B's attachment, and no link at all
            path_b = link_b["url"].split("?", 1)[0]
            assert (await http.get(f"{path_b}?t={token_a}")).status_code == 404
            assert (await http.get(path_b)).status_code == 404
            # a correctly signed link for A's session that names B's attachment: B's conversation is not A's
            key = server.settings.secret_key()
            sid_a = URLSafeTimedSerializer(key, salt="chat-attachment").loads(token_a)["sid"]
            forged = URLSafeTimedSerializer(key, salt="chat-attachment").dumps(
                {"sid": sid_a, "m": link_b["message_id"], "a": link_b["id"]}
            )
            assert (await http.get(f"{path_b}?t={forged}")).status_code == 404
            assert (await http.get(link_b["url"])).status_code == 200  # B's own link works
        # a reconnecting customer gets the links again with the history
        async with chat_client(server) as again:
            token = await chat_a_session(server, cid_a)
            await again.send({"type": "hello", "token": token, "language": "en-US"})
            await again.next("history")
            assert [i["id"] for i in (await again.next("attachments"))["items"]] == [link["id"]]
    finally:
        await ctx_a.__aexit__(None, None, None)
        await ctx_b.__aexit__(None, None, None)


async def chat_a_session(server: LiveServer, cid: str) -> str:
    """A fresh session token for the chat identity of conversation ``cid`` (what the widget keeps)."""

    async def token(services):  # type: ignore[no-untyped-def]
        contact = await services.messages.contact_for(cid)
        (identity,) = [i for i in await services.messages.identities_of(contact.id) if i.address.kind == "chat"]
        return services.chat_signer.issue(identity.address)

    return await server.acall(token)


# -- MMS media ------------------------------------------------------------------------------------------
def _mms(server: LiveServer, urls: list[str]) -> str:
    form = {
        "MessageSid": "MM" + secrets.token_hex(16),
        "AccountSid": DEFAULT_SID,
        "From": "+4915199887766",
        "To": "+15005550006",
        "Body": "photo of the damage",
        "NumMedia": str(len(urls)),
    }
    for i, url in enumerate(urls):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = "image/png"
    url = server.settings.public_url + SMS_PATH
    r = httpx.post(url, data=form, headers={"X-Twilio-Signature": twilio_signature(DEFAULT_TOKEN, url, form)})
    assert r.status_code == 200, r.text
    msg = server.call(lambda s: s.messages.find_message_by_external_id(ChannelKind.SMS, form["MessageSid"]))
    assert msg is not None
    return msg.id


def test_mms_media_is_fetched_from_an_allowed_host_refused_elsewhere_and_the_message_is_kept(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, port, seen = stack[0], stack[3], stack[4]
    base = f"http://127.0.0.1:{port}/2010-04-01/Accounts/{DEFAULT_SID}/Messages/MM1/Media"
    mid = _mms(
        server,
        [
            f"{base}/photo",  # allowed: redirected to the "CDN", fetched
            f"http://127.0.0.2:{port}/2010-04-01/Accounts/{DEFAULT_SID}/Messages/MM1/Media/photo",  # not allowed
            f"{base}/big",  # over the MMS limit
            f"{base}/away",  # redirected to a host that is not allowed
        ],
    )
    before = server.call(lambda s: s.messages.get_message(mid))
    assert before.attachments == () and len(before.meta["media"]) == 4  # accepted first, fetched later
    seen.clear()
    msg = server.call(lambda s: MediaFetch(s).fetch(mid), timeout=30)
    (photo,) = msg.attachments
    assert photo.content_type == "image/png" and photo.size == len(PNG) and photo.filename == "mms-1.png"
    states = [(m["fetch"], m.get("error", "")) for m in msg.meta["media"]]
    assert states[0] == ("stored", "")
    assert states[1][0] == "failed" and "127.0.0.2" in states[1][1] and "not allowed" in states[1][1]
    assert states[2][0] == "failed" and str(MMS_MAX) in states[2][1]
    assert states[3][0] == "failed" and "not allowed" in states[3][1]
    assert not any("127.0.0.2" in s["path"] for s in seen)  # the refused host was never asked
    assert {s["path"]: s["auth"] for s in seen}[f"/2010-04-01/Accounts/{DEFAULT_SID}/Messages/MM1/Media/photo"]

    page = agent[0].get(f"/inbox/c/{msg.conversation_id}")
    assert "3 media file(s) could not be fetched from Twilio" in page.text
    opened = agent[0].get(_url(msg.conversation_id, mid, photo))
    assert opened.status_code == 200 and opened.content == PNG and opened.headers["content-type"] == "image/png"

    again = server.call(lambda s: MediaFetch(s).fetch(mid))  # a redelivered turn fetches nothing again
    assert again.attachments == msg.attachments and again.meta == msg.meta
