"""Client frames are validated on the type; anything else becomes an error code, never an exception leak."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.chat import (
    MAX_CHAT_TEXT,
    AckFrame,
    ChatErrorCode,
    ErrorFrame,
    FrameError,
    HelloFrame,
    MessageFrame,
    PingFrame,
    dump_frame,
    parse_client_frame,
)


def _code(raw: str) -> ChatErrorCode:
    with pytest.raises(FrameError) as exc:
        parse_client_frame(raw)
    return exc.value.code


def test_the_three_client_frames_parse() -> None:
    assert parse_client_frame('{"type":"hello","token":null}') == HelloFrame(type="hello", token=None)
    assert isinstance(parse_client_frame('{"type":"ping"}'), PingFrame)
    mid = uuid.uuid4()
    msg = parse_client_frame(json.dumps({"type": "message", "id": str(mid), "text": "hi"}))
    assert isinstance(msg, MessageFrame) and msg.id == mid and msg.text == "hi"


def test_the_message_id_is_canonical_whatever_the_spelling() -> None:
    mid = uuid.uuid4()
    for spelling in (str(mid), str(mid).upper(), mid.hex, "{" + str(mid) + "}"):
        frame = parse_client_frame(json.dumps({"type": "message", "id": spelling, "text": "x"}))
        assert isinstance(frame, MessageFrame) and frame.external_id == str(mid)


def test_message_text_is_cleaned_and_must_not_be_blank() -> None:
    frame = parse_client_frame(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "  a\x00b\r\nc \x1b "}))
    assert isinstance(frame, MessageFrame) and frame.text == "ab\nc"
    assert (
        _code(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": " \x00 "})) == ChatErrorCode.INVALID_FRAME
    )


def test_a_hello_ignores_a_junk_language_or_token_instead_of_failing() -> None:
    frame = parse_client_frame(json.dumps({"type": "hello", "token": "x" * 600, "language": "<script>"}))
    assert isinstance(frame, HelloFrame) and frame.token is None and frame.language is None
    frame = parse_client_frame(json.dumps({"type": "hello", "token": 5, "language": "de-CH"}))
    assert isinstance(frame, HelloFrame) and frame.token is None and frame.language == "de-CH"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{bad", ChatErrorCode.INVALID_JSON),
        ("", ChatErrorCode.INVALID_JSON),
        ("[" * 50_000, ChatErrorCode.INVALID_JSON),
        ("[]", ChatErrorCode.INVALID_FRAME),
        ('"hello"', ChatErrorCode.INVALID_FRAME),
        ("{}", ChatErrorCode.UNKNOWN_TYPE),
        ('{"type":"subscribe"}', ChatErrorCode.UNKNOWN_TYPE),
        ('{"type":["message"]}', ChatErrorCode.UNKNOWN_TYPE),
        ('{"type":"message","id":"not-a-uuid","text":"x"}', ChatErrorCode.INVALID_FRAME),
        ('{"type":"message","id":"' + str(uuid.uuid4()) + '"}', ChatErrorCode.INVALID_FRAME),
        (
            '{"type":"message","id":"' + str(uuid.uuid4()) + '","text":"' + "x" * (MAX_CHAT_TEXT + 1) + '"}',
            ChatErrorCode.INVALID_FRAME,
        ),
    ],
)
def test_bad_frames_map_to_error_codes(raw: str, code: ChatErrorCode) -> None:
    assert _code(raw) == code


def test_an_error_names_the_message_id_it_is_about() -> None:
    with pytest.raises(FrameError) as exc:
        parse_client_frame('{"type":"message","id":"abc","text":""}')
    assert exc.value.frame_id == "abc"
    assert "id" in exc.value.message and "text" in exc.value.message


def test_server_frames_dump_to_the_documented_json() -> None:
    assert json.loads(dump_frame(AckFrame(id="u", message_id="msg_1", duplicate=True))) == {
        "type": "ack",
        "id": "u",
        "message_id": "msg_1",
        "duplicate": True,
    }
    assert json.loads(dump_frame(ErrorFrame(code=ChatErrorCode.RATE_LIMITED, message="slow down"))) == {
        "type": "error",
        "code": "rate_limited",
        "message": "slow down",
        "id": None,
    }


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["type", "id", "text", "token", "x"]), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_any_input_parses_or_raises_frame_error(raw: str) -> None:
    try:
        parse_client_frame(raw)
    except FrameError as exc:
        assert isinstance(exc.code, ChatErrorCode)
