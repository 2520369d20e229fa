"""Building outbound messages (no sockets): threading headers, disclosure, header injection."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from pydantic import ValidationError

from channels.email import (
    EmailSender,
    HeaderInjectionError,
    Mailbox,
    OutboundEmail,
    RelaySettings,
    make_message_id,
)

SENDER = EmailSender(RelaySettings(host="127.0.0.1", message_id_domain="glassdesk.test"))
DISCLOSURE = "Diese Antwort wurde mit KI erstellt und von unserem Team geprüft."


def _outbound(**overrides: object) -> OutboundEmail:
    values: dict[str, object] = {
        "to": (Mailbox(address="kunde@example.com", display_name="Jörg Müller"),),
        "from": Mailbox(address="support@glassdesk.test", display_name="Glassdesk Support"),
        "subject": "Re: Schaden 4711",
        "text": "Guten Tag,\n\n<b>nicht fett</b> & so.\n\nIhr Team",
        "in_reply_to": "<c2@example.com>",
        "references": ("<c1@example.com>",),
    }
    values.update(overrides)
    return OutboundEmail.model_validate(values)


def _roundtrip(msg: OutboundEmail):  # type: ignore[no-untyped-def]
    return message_from_bytes(SENDER.build_message(msg).as_bytes(), policy=policy.default)


def test_threading_headers_and_own_message_id() -> None:
    parsed = _roundtrip(_outbound())
    assert parsed["Message-ID"].startswith("<gd.") and parsed["Message-ID"].endswith("@glassdesk.test>")
    assert parsed["In-Reply-To"] == "<c2@example.com>"
    assert parsed["References"] == "<c1@example.com> <c2@example.com>"
    assert "X-Glassdesk-AI" not in parsed


def test_generated_html_alternative_escapes_text() -> None:
    parsed = _roundtrip(_outbound())
    html = parsed.get_body(("html",)).get_content()
    assert "&lt;b&gt;nicht fett&lt;/b&gt; &amp; so." in html
    assert "<b>" not in html
    assert parsed.get_body(("plain",)).get_content().startswith("Guten Tag,")


def test_ai_disclosure_in_both_parts_and_header() -> None:
    parsed = _roundtrip(
        _outbound(ai_generated=True, ai_disclosure=DISCLOSURE, html="<html><body><p>Hallo</p></body></html>")
    )
    assert parsed["X-Glassdesk-AI"] == "generated"
    assert parsed.get_body(("plain",)).get_content().startswith(DISCLOSURE)
    html = parsed.get_body(("html",)).get_content()
    assert html.index("mit KI erstellt") < html.index("<p>Hallo</p>")


def test_ai_generated_without_disclosure_is_refused() -> None:
    with pytest.raises(ValidationError, match="ai_disclosure"):
        _outbound(ai_generated=True)


def test_reply_token_sets_plus_reply_to_and_subject_tag() -> None:
    token = "abcdefghijklmnop"
    parsed = _roundtrip(_outbound(reply_token=token))
    assert parsed["Reply-To"].addresses[0].addr_spec == f"support+{token}@glassdesk.test"
    assert parsed["Subject"] == f"Re: Schaden 4711 [#GD-{token}]"


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hallo\r\nBcc: victim@example.com"},
        {"subject": "Hallo\nX-Evil: 1"},
        {"in_reply_to": "<a@b>\r\nBcc: x@y"},
        {"references": ("<a@b>\nBcc: x@y",)},
        {"ai_generated": True, "ai_disclosure": "KI\r\nBcc: x@y"},
        {"to": ({"address": "kunde@example.com\r\nRCPT TO:<x@y>"},)},
        {"to": ({"address": "kunde@example.com", "display_name": "Eve\r\nBcc: x@y"},)},
        {"reply_token": "abc\r\ndef"},
    ],
)
def test_crlf_injection_is_refused_at_construction(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _outbound(**overrides)


def test_crlf_that_bypassed_validation_is_still_refused_when_building() -> None:
    bad = _outbound().model_copy(update={"subject": "Hi\r\nBcc: victim@example.com"})
    with pytest.raises(HeaderInjectionError):
        SENDER.build_message(bad)


def test_make_message_id_refuses_bad_domain() -> None:
    assert make_message_id("glassdesk.test").endswith("@glassdesk.test>")
    with pytest.raises(ValueError):
        make_message_id("x>\r\nBcc: y")
