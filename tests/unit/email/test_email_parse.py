"""parse_email: headers, sender validation, bodies, attachments, limits, auto-replies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from channels.email import (
    ParseFailure,
    ParseLimits,
    QuarantineReason,
    parse_email,
    parse_mailbox,
)
from conversation import InboundParseError


def _message(**overrides: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = overrides.get("From", "Jörg Müller <joerg@example.de>")
    msg["To"] = overrides.get("To", "Support <support+abcdefghijklmnop@glassdesk.local>, other@example.com")
    msg["Subject"] = overrides.get("Subject", "Re: Schaden 4711")
    msg["Date"] = overrides.get("Date", "Tue, 24 Nov 2026 09:30:00 +0100")
    msg["Message-ID"] = overrides.get("Message-ID", "<m2@example.de>")
    msg["In-Reply-To"] = overrides.get("In-Reply-To", "<gd.1@glassdesk.local>")
    msg["References"] = overrides.get("References", "<root@example.de> <gd.1@glassdesk.local>")
    msg.set_content(
        overrides.get(
            "body",
            "Guten Tag,\n\nich habe die Unterlagen geschickt und bitte um eine Antwort.\n\n"
            "Am 23.11.2026 um 10:00 schrieb Support <support@glassdesk.local>:\n> Bitte senden Sie uns die Unterlagen.\n\n"
            "Von meinem iPhone gesendet",
        )
    )
    return msg


def test_full_message_fields() -> None:
    parsed = parse_email(_message().as_bytes(policy=SMTP))
    assert parsed.message_id == "<m2@example.de>"
    assert parsed.from_ is not None
    assert parsed.from_.address == "joerg@example.de"
    assert parsed.from_.display_name == "Jörg Müller"
    assert [m.address for m in parsed.to] == ["support+abcdefghijklmnop@glassdesk.local", "other@example.com"]
    assert parsed.subject == "Re: Schaden 4711"
    assert parsed.date == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert parsed.in_reply_to == "<gd.1@glassdesk.local>"
    assert parsed.references == ("<root@example.de>", "<gd.1@glassdesk.local>")
    assert parsed.text == "Guten Tag,\n\nich habe die Unterlagen geschickt und bitte um eine Antwort."
    assert parsed.quoted_removed and not parsed.signature_removed  # the iPhone line sits in the cut part
    assert "Bitte senden Sie uns" in parsed.full_text
    assert parsed.language == "de"
    assert parsed.quarantine_reason is None
    assert not parsed.auto_submitted
    assert parsed.raw_sha256 == hashlib.sha256(_message().as_bytes(policy=SMTP)).hexdigest()


def test_german_mobile_signature_without_quote() -> None:
    parsed = parse_email(_message(body="Danke, passt so.\n\nGesendet von meinem Samsung Galaxy Smartphone.").as_bytes())
    assert parsed.text == "Danke, passt so."
    assert parsed.signature_removed


@pytest.mark.parametrize(
    "from_value",
    [
        "alice@example.org <bob@example.com>",  # CVE-2023-27043 shape: which one is the sender?
        '"alice@example.org" <bob@example.com>, eve@example.net',
        "Сергей Обухов",
        "a@b.c@d.e",
        "<>",
        "bob@example.com>",
    ],
)
def test_ambiguous_or_broken_sender_is_invalid_not_guessed(from_value: str) -> None:
    raw = (
        f"From: {from_value}\r\nTo: support@glassdesk.local\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nHello there\r\n"
    ).encode()
    parsed = parse_email(raw)
    assert parsed.from_ is None
    assert parsed.quarantine_reason is QuarantineReason.INVALID_SENDER


def test_quoted_display_name_that_looks_like_an_address_keeps_the_real_address() -> None:
    box = parse_mailbox('"alice@example.org" <bob@example.com>')
    assert box is not None and box.address == "bob@example.com"


def test_two_from_headers_are_invalid() -> None:
    raw = b"From: a@example.com\r\nFrom: b@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse_email(raw).quarantine_reason is QuarantineReason.INVALID_SENDER


def test_encoded_crlf_in_subject_does_not_survive() -> None:
    raw = b"From: a@example.com\r\nSubject: =?utf-8?q?hello=0D=0ABcc=3A_x=40evil.com?=\r\n\r\nbody\r\n"
    parsed = parse_email(raw)
    assert "\r" not in parsed.subject and "\n" not in parsed.subject


def test_html_only_message_becomes_text_without_script_or_style() -> None:
    msg = EmailMessage()
    msg["From"] = "c@example.com"
    msg["Subject"] = "x"
    msg.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>Line one</p><div>Line two<br>Line three</div></body></html>",
        subtype="html",
    )
    parsed = parse_email(msg.as_bytes())
    assert parsed.html_present
    assert parsed.text == "Line one\n\nLine two\nLine three"
    assert "alert" not in parsed.full_text and "color" not in parsed.full_text


def test_plain_is_preferred_over_html_alternative() -> None:
    msg = EmailMessage()
    msg["From"] = "c@example.com"
    msg.set_content("plain words")
    msg.add_alternative("<p>html words</p>", subtype="html")
    parsed = parse_email(msg.as_bytes())
    assert parsed.text == "plain words" and parsed.html_present


def test_attachments_are_kept_with_hash_and_sanitized_name() -> None:
    msg = _message()
    payload = b"%PDF-1.4 fake"
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="../../etc/Rechnung\u202egpj.pdf")
    msg.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename=None)
    parsed = parse_email(msg.as_bytes())
    first, second = parsed.attachments
    assert first.filename == "Rechnunggpj.pdf"
    assert first.content_type == "application/pdf"
    assert first.size == len(payload)
    assert first.sha256 == hashlib.sha256(payload).hexdigest()
    assert first.data == payload
    assert second.filename == "attachment-2.png"
    dumped = parsed.model_dump()
    assert "data" not in dumped["attachments"][0]
    assert "fake" not in parsed.model_dump_json()


def test_attachment_over_size_limit_is_quarantined_without_bytes() -> None:
    msg = _message()
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="octet-stream", filename="big.bin")
    parsed = parse_email(msg.as_bytes(), limits=ParseLimits(max_attachment_bytes=1000))
    assert parsed.quarantine_reason is QuarantineReason.ATTACHMENT_TOO_LARGE
    (att,) = parsed.attachments
    assert att.size == 2000 and not att.kept and att.data == b""


def test_too_many_attachments_is_quarantined() -> None:
    msg = _message()
    for i in range(5):
        msg.add_attachment(b"x", maintype="text", subtype="csv", filename=f"f{i}.csv")
    parsed = parse_email(msg.as_bytes(), limits=ParseLimits(max_attachments=3))
    assert parsed.quarantine_reason is QuarantineReason.TOO_MANY_ATTACHMENTS
    assert len(parsed.attachments) == 3


def _nested(depth: int) -> bytes:
    head = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"text\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + boundary
            + b"\r\n\r\n--"
            + boundary
            + b"\r\n"
            + (body if level else b"Content-Type: text/plain\r\n\r\n" + body)
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    return head + body


def test_mime_depth_limit_quarantines() -> None:
    parsed = parse_email(_nested(30), limits=ParseLimits(max_mime_depth=20))
    assert parsed.quarantine_reason is QuarantineReason.MIME_TOO_DEEP


def test_very_deep_mime_never_crashes() -> None:
    try:
        parsed = parse_email(_nested(3000))
    except InboundParseError as exc:
        assert exc.reason in (ParseFailure.MIME_TOO_DEEP, ParseFailure.TOO_MANY_PARTS)
    else:
        assert parsed.quarantine_reason is QuarantineReason.MIME_TOO_DEEP


def test_part_count_limit_quarantines() -> None:
    msg = _message()
    for i in range(120):
        msg.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{i}.txt")
    parsed = parse_email(msg.as_bytes(), limits=ParseLimits(max_parts=100, max_attachments=500))
    assert parsed.quarantine_reason is QuarantineReason.TOO_MANY_PARTS


@pytest.mark.parametrize(
    ("raw", "reason", "limits"),
    [
        (b"", ParseFailure.EMPTY, ParseLimits()),
        (b"  \r\n ", ParseFailure.EMPTY, ParseLimits()),
        (b"From: a@example.com\r\n\r\n" + b"x" * 5000, ParseFailure.TOO_LARGE, ParseLimits(max_total_bytes=4000)),
        (b"X-Big: " + b"y" * 5000 + b"\r\n\r\nbody", ParseFailure.HEADER_TOO_LARGE, ParseLimits(max_header_bytes=1024)),
        (b"\x00\x01\x02\xff\xfe binary junk", ParseFailure.NOT_AN_EMAIL, ParseLimits()),
    ],
)
def test_unparseable_input_raises_the_declared_error(raw: bytes, reason: ParseFailure, limits: ParseLimits) -> None:
    with pytest.raises(InboundParseError) as info:
        parse_email(raw, limits=limits)
    assert info.value.reason is reason
    assert info.value.detail


def test_headerless_text_is_a_bare_body_in_quarantine() -> None:
    parsed = parse_email(b"Hallo,\n\nbitte rufen Sie mich an.\n\nVon meinem iPhone gesendet\n")
    assert parsed.from_ is None and parsed.message_id is None
    assert parsed.quarantine_reason is QuarantineReason.NO_HEADERS
    assert parsed.text == "Hallo,\n\nbitte rufen Sie mich an."


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "List-Id: <news.example.com>",
        "X-Autoreply: yes",
        "Return-Path: <>",
    ],
)
def test_auto_submitted_detection(header: str) -> None:
    raw = f"From: a@example.com\r\n{header}\r\nSubject: Out of office\r\n\r\nI am away.\r\n".encode()
    assert parse_email(raw).auto_submitted


def test_auto_submitted_no_is_a_person() -> None:
    raw = b"From: a@example.com\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n"
    assert not parse_email(raw).auto_submitted


def test_references_are_bounded_keeping_root_and_latest() -> None:
    refs = " ".join(f"<r{i}@example.com>" for i in range(500))
    parsed = parse_email(_message(References=refs).as_bytes(), limits=ParseLimits(max_references=10))
    assert len(parsed.references) == 10
    assert parsed.references[0] == "<r0@example.com>"
    assert parsed.references[-1] == "<r499@example.com>"


def test_unknown_charset_falls_back_instead_of_crashing() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
    assert parse_email(raw).text == "Grüße"


def test_undeclared_8bit_utf8_is_decoded() -> None:
    raw = "From: a@example.com\r\nSubject: x\r\n\r\nДобрый день.\r\n".encode()
    assert parse_email(raw).text == "Добрый день."


def test_forwarded_message_attachment_is_listed_not_walked_as_body() -> None:
    inner = _message(body="inner body")
    outer = EmailMessage()
    outer["From"] = "fwd@example.com"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    parsed = parse_email(outer.as_bytes())
    assert parsed.text == "see attached"
    (att,) = parsed.attachments
    assert att.content_type == "message/rfc822"
    assert b"inner body" in att.data
