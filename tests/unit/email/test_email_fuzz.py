"""Property tests: hostile or broken input yields a ParsedEmail or InboundParseError, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.email import ParsedEmail, ParseLimits, html_to_text, parse_email, strip_reply
from conversation import InboundParseError

from .fixtures import manifest_files

_LIMITS = ParseLimits(max_total_bytes=512 * 1024, max_parts=50, max_mime_depth=10)
_SEEDS = [p.read_bytes() for p in manifest_files() if p.is_file()] or [
    b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
]
_HOSTILE = [
    b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--\r\n--x",
    b"From: =?utf-8?q?a=0D=0AX:_y?= <a@example.com>\r\nSubject: =?utf-8?b?AAAA?=\r\n\r\n\x00\xff",
    b'Content-Type: multipart/alternative; boundary=""\r\n\r\n--\r\n\r\n--',
    b"From: a@example.com\r\nContent-Type: text/plain; charset=base64\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
    b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+AGEAYgBj-\r\n",
    b"From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nContent-Type: message/rfc822\r\n\r\n",
    b"From: a@example.com\r\nContent-Disposition: attachment; filename*=utf-8''%E2%80%AE..%2F..%2Fx.exe\r\n\r\nMZ",
    b"From: " + b"<" * 5000 + b"\r\n\r\nx",
    b"To: " + b"a@b, " * 3000 + b"\r\n\r\n",
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\nFrom: a@example.com\r\n\r\n",
    b"\r\n\r\n\r\n",
]


def _check(raw: bytes) -> None:
    try:
        result = parse_email(raw, limits=_LIMITS)
    except InboundParseError as exc:
        assert exc.reason and exc.detail
        return
    assert isinstance(result, ParsedEmail)
    result.model_dump_json()  # the result is always serialisable


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS + _HOSTILE)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            chunk = draw(
                st.sampled_from(
                    [
                        b"\r\n",
                        b"\n.\n",
                        b"\r.\n",
                        b"\x00",
                        b"--",
                        b"=?utf-8?q?=0D=0A?=",
                        b">",
                        b"\xff\xfe",
                        b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n",
                        b"boundary=",
                        b"<",
                        b"On Mon, 1 Jan 2024 a@b.c wrote:\n> ",
                        b"<blockquote>",
                        b"<script>",
                    ]
                )
            )
            data[pos:pos] = chunk
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(min_value=1, max_value=64))]
        elif op == "duplicate" and data:
            data[pos:pos] = data[pos : pos + draw(st.integers(min_value=1, max_value=256))]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
@example(b"")
@example(b"\x00" * 100)
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_fixture())
@example(b"From:\x80Alexey Q <xxx@hotmail.com>\nSubject: \xff\n\nHello\n")  # found by a 15k-example run
def test_mutated_real_messages_never_crash(raw: bytes) -> None:
    _check(raw)


def test_hostile_seeds_never_crash() -> None:
    for raw in _HOSTILE:
        _check(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_strip_reply_and_html_to_text_total(text: str) -> None:
    result = strip_reply(text)
    assert isinstance(result.text, str)
    html_to_text(text)
