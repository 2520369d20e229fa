from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from conversation import (
    ActorKind,
    Address,
    ChannelKind,
    ChatSession,
    DeliveryStatus,
    EmailAddress,
    EventType,
    InboundMessage,
    PhoneAddress,
    TimelineEvent,
    advance_delivery,
    ai_disclosure,
)

ADDRESS = TypeAdapter(Address)


def test_address_union_is_tagged_on_kind() -> None:
    assert isinstance(ADDRESS.validate_python({"kind": "phone", "number": "+49 151 1234 5678"}), PhoneAddress)
    assert ADDRESS.validate_python({"kind": "phone", "number": "+49 151 1234 5678"}).number == "+4915112345678"
    assert isinstance(ADDRESS.validate_python({"kind": "email", "address": "Anna@Example.COM"}), EmailAddress)
    assert ADDRESS.validate_python({"kind": "email", "address": "Anna@Example.COM"}).address == "Anna@example.com"
    assert isinstance(ADDRESS.validate_python({"kind": "chat", "session_id": "abcdefgh12"}), ChatSession)


def test_bad_phone_error_names_field_and_fix() -> None:
    with pytest.raises(ValidationError) as err:
        PhoneAddress(number="0151 1234")
    text = str(err.value)
    assert "number" in text and "E.164" in text and "+4915112345678" in text


def test_email_with_display_name_or_crlf_is_refused() -> None:
    with pytest.raises(ValidationError, match="plain email address"):
        EmailAddress(address="Anna <anna@example.com>")
    with pytest.raises(ValidationError, match="line breaks"):
        EmailAddress(address="anna@example.com\r\nBcc: x@evil.test")


def test_unknown_kind_is_rejected_with_allowed_tags() -> None:
    with pytest.raises(ValidationError) as err:
        ADDRESS.validate_python({"kind": "fax", "number": "+4930123456"})
    assert "email" in str(err.value) and "phone" in str(err.value)


def test_models_are_frozen_and_closed() -> None:
    msg = InboundMessage(
        channel=ChannelKind.SMS, external_id="SM1", address=PhoneAddress(number="+4915112345678"), text="hi"
    )
    with pytest.raises(ValidationError):
        msg.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        InboundMessage(channel="fax", external_id="x", address=PhoneAddress(number="+4915112345678"), text="hi")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        InboundMessage(
            channel=ChannelKind.SMS, external_id="", address=PhoneAddress(number="+4915112345678"), text="hi"
        )


def test_event_data_must_stay_small() -> None:
    with pytest.raises(ValidationError, match="store ids, not content"):
        TimelineEvent(
            conversation_id="cv_1", type=EventType.RECEIVED, actor=ActorKind.SYSTEM, data={"text": "x" * 5000}
        )


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (None, DeliveryStatus.QUEUED, DeliveryStatus.QUEUED),
        (DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.SENT),
        (DeliveryStatus.SENT, DeliveryStatus.QUEUED, DeliveryStatus.SENT),
        (DeliveryStatus.DELIVERED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
        (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DELIVERED),
        (DeliveryStatus.FAILED, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED),
        (DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.READ),
        (DeliveryStatus.SENDING, DeliveryStatus.UNDELIVERED, DeliveryStatus.UNDELIVERED),
    ],
)
def test_delivery_status_is_monotonic(current, incoming, expected) -> None:  # type: ignore[no-untyped-def]
    assert advance_delivery(current, incoming) is expected


def test_disclosure_in_customer_language() -> None:
    assert "KI" in ai_disclosure("de")
    assert "AI" in ai_disclosure("en-GB")
    assert ai_disclosure("xx") == ai_disclosure("en")
    assert "Maria" in ai_disclosure("de", approved_by="Maria")
