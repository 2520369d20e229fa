"""Reply tokens, subject tags and thread keys."""

from __future__ import annotations

import re

import pytest

from channels.email import (
    TokenSource,
    make_reply_token,
    parse_email,
    plus_address,
    subject_tag,
    thread_keys,
)


def _raw(*, to: str = "support@glassdesk.local", subject: str = "Re: Hilfe", extra: str = "") -> bytes:
    return (
        f"From: kunde@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <c2@example.com>\r\nIn-Reply-To: <gd.1@glassdesk.local>\r\n"
        f"References: <c1@example.com> <gd.1@glassdesk.local>\r\n{extra}\r\nDanke!\r\n"
    ).encode()


def test_tokens_are_random_and_mta_safe() -> None:
    tokens = {make_reply_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[a-z2-7]{16}", t) for t in tokens)


def test_subject_tag_and_plus_address() -> None:
    token = make_reply_token()
    assert subject_tag(token) == f"[#GD-{token}]"
    assert plus_address("Support@Glassdesk.local", token) == f"Support+{token}@glassdesk.local"
    assert plus_address("support+old@glassdesk.local", token) == f"support+{token}@glassdesk.local"
    with pytest.raises(ValueError, match="reply token"):
        subject_tag("not a token")


def test_plus_address_token_wins_and_case_is_normalised() -> None:
    token = make_reply_token()
    parsed = parse_email(
        _raw(to=f"Support <support+{token.upper()}@glassdesk.local>", subject="Re: x [#GD-aaaaaaaaaaaaaaaa]")
    )
    keys = thread_keys(parsed, our_domains={"glassdesk.local"})
    assert keys.reply_token == token
    assert keys.reply_token_source is TokenSource.PLUS_ADDRESS
    assert keys.in_reply_to == "<gd.1@glassdesk.local>"
    assert keys.references == ("<c1@example.com>", "<gd.1@glassdesk.local>")


def test_subject_tag_when_client_dropped_the_plus_address() -> None:
    token = make_reply_token()
    parsed = parse_email(_raw(subject=f"AW: Ihre Anfrage [#GD-{token}]"))
    keys = thread_keys(parsed)
    assert keys.reply_token == token and keys.reply_token_source is TokenSource.SUBJECT_TAG


def test_envelope_recipient_and_cc_count_but_foreign_domains_do_not() -> None:
    token = make_reply_token()
    parsed = parse_email(_raw(extra=f"Cc: someone+{token}@evil.example\r\n"))
    assert thread_keys(parsed, our_domains={"glassdesk.local"}).reply_token is None
    keys = thread_keys(
        parsed, envelope_recipients=[f"support+{token}@glassdesk.local"], our_domains={"glassdesk.local"}
    )
    assert keys.reply_token == token


def test_subject_alone_never_threads() -> None:
    parsed = parse_email(
        b"From: kunde@example.com\r\nTo: support@glassdesk.local\r\nSubject: Re: Schaden 4711\r\n\r\nhi\r\n"
    )
    keys = thread_keys(parsed)
    assert keys.reply_token is None and keys.in_reply_to is None and keys.references == ()
