"""Rendering replies, progress and history into frames: the AI badge and disclosure are never lost."""

from __future__ import annotations

import pytest

from channels.chat import (
    CHAT_REPLY_EVENT,
    ProgressStep,
    chat_reply_payload,
    handoff_notice,
    history_frame,
    progress_frame,
    reply_frame,
)
from conversation import (
    AuthorKind,
    ChannelKind,
    ChatSession,
    DeliveryStatus,
    Direction,
    EmailAddress,
    EventType,
    Message,
    OutboundMessage,
    ai_disclosure,
)


def _outbound(**kw) -> OutboundMessage:  # type: ignore[no-untyped-def]
    base = dict(
        conversation_id="cv_1",
        message_id="msg_1",
        outbox_id="ob_1",
        channel=ChannelKind.CHAT,
        to=ChatSession(session_id="abcdefgh12"),
        text="Your parcel arrives tomorrow.",
        language="en",
        ai_generated=True,
    )
    base.update(kw)
    return OutboundMessage(**base)


def test_an_ai_reply_payload_carries_the_disclosure_in_the_conversation_language() -> None:
    payload = chat_reply_payload(_outbound(language="de"))
    assert payload.pop("at")  # when it was sent
    assert payload == {
        "event": CHAT_REPLY_EVENT,
        "message_id": "msg_1",
        "text": "Your parcel arrives tomorrow.",
        "ai": True,
        "disclosure": ai_disclosure("de"),
        "author": "ai",
    }


def test_an_agent_reply_payload_has_no_disclosure() -> None:
    payload = chat_reply_payload(_outbound(ai_generated=False))
    assert (payload["author"], payload["ai"], payload["disclosure"]) == ("agent", False, None)


def test_only_chat_messages_become_chat_payloads() -> None:
    with pytest.raises(ValueError, match="chat messages only"):
        chat_reply_payload(_outbound(channel=ChannelKind.EMAIL, to=EmailAddress(address="a@example.com")))


def test_the_payload_round_trips_into_a_reply_frame() -> None:
    frame = reply_frame({"conversation_id": "cv_1", **chat_reply_payload(_outbound())})
    assert frame is not None
    assert (frame.author, frame.ai, frame.disclosure) == (AuthorKind.AI, True, ai_disclosure("en"))


def test_an_ai_reply_without_a_disclosure_still_gets_one_and_cannot_pose_as_an_agent() -> None:
    frame = reply_frame({"event": CHAT_REPLY_EVENT, "message_id": "m", "text": "t", "ai": True, "author": "agent"})
    assert frame is not None and frame.author == AuthorKind.AI and frame.disclosure == ai_disclosure("en")


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "received"},
        {"event": CHAT_REPLY_EVENT},
        {"event": CHAT_REPLY_EVENT, "message_id": "m", "text": "", "ai": False, "author": "agent"},
        {"event": CHAT_REPLY_EVENT, "message_id": "m", "text": "t", "ai": False, "author": "customer"},
    ],
)
def test_other_or_malformed_payloads_are_not_replies(payload: dict) -> None:  # type: ignore[type-arg]
    assert reply_frame(payload) is None


@pytest.mark.parametrize(
    ("event", "step"),
    [
        (EventType.RECEIVED, ProgressStep.RECEIVED),
        (EventType.UNDERSTOOD, ProgressStep.WORKING),
        (EventType.LOOKED_UP, ProgressStep.WORKING),
        (EventType.DECIDED, ProgressStep.WORKING),
        (EventType.DRAFTED, ProgressStep.WORKING),
        (EventType.SENT, ProgressStep.REPLIED),
        (EventType.HANDED_OFF, ProgressStep.HANDED_OFF),
        (EventType.AWAITING_AGENT, ProgressStep.HANDED_OFF),
    ],
)
def test_timeline_events_map_to_progress_steps(event: EventType, step: ProgressStep) -> None:
    frame = progress_frame({"event": event.value, "message_id": "msg_1"}, language="en")
    assert frame is not None and frame.step == step and frame.event == event.value
    assert (frame.notice is not None) == (step == ProgressStep.HANDED_OFF)


def test_internal_events_and_junk_are_not_shown() -> None:
    for event in ("note_added", "quarantined", "delivery_updated", "nonsense", None):
        assert progress_frame({"event": event}, language="en") is None


def test_the_handoff_notice_speaks_german_or_english() -> None:
    assert handoff_notice("de-AT").startswith("Eine Person")
    assert handoff_notice("fr") == handoff_notice(None) == "A person from our team will answer you here."


def _msg(seq: int, direction: Direction, author: AuthorKind, text: str, **kw) -> Message:  # type: ignore[no-untyped-def]
    return Message(
        conversation_id="cv_1",
        seq=seq,
        direction=direction,
        author_kind=author,
        channel=ChannelKind.CHAT,
        text=text,
        **kw,
    )


def test_history_shows_customer_messages_and_sent_replies_only() -> None:
    messages = [
        _msg(1, Direction.INBOUND, AuthorKind.CUSTOMER, "hi"),
        _msg(2, Direction.OUTBOUND, AuthorKind.AI, "draft", delivery_status=None),
        _msg(
            3,
            Direction.OUTBOUND,
            AuthorKind.AI,
            "sent",
            delivery_status=DeliveryStatus.SENT,
            meta={"approved_by": "Petra"},
        ),
        _msg(
            4,
            Direction.OUTBOUND,
            AuthorKind.AGENT,
            "note",
            delivery_status=DeliveryStatus.SENT,
            meta={"internal": True},
        ),
        _msg(5, Direction.OUTBOUND, AuthorKind.AGENT, "failed", delivery_status=DeliveryStatus.FAILED),
        _msg(6, Direction.OUTBOUND, AuthorKind.AGENT, "Petra here", delivery_status=DeliveryStatus.DELIVERED),
    ]
    frame = history_frame(messages, language="de")
    assert [(m.author, m.text) for m in frame.messages] == [
        (AuthorKind.CUSTOMER, "hi"),
        (AuthorKind.AI, "sent"),
        (AuthorKind.AGENT, "Petra here"),
    ]
    assert frame.messages[1].ai_disclosure == ai_disclosure("de", approved_by="Petra")
    assert frame.messages[0].ai_disclosure is None and frame.messages[2].ai_disclosure is None
