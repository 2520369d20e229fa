"""Every step a customer can see has a plain label in German and English (no raw enum words)."""

from __future__ import annotations

import pytest

from conversation import ActorKind, EventType, TimelineEvent
from web.status import describe_event


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("kind", list(EventType))
def test_each_visible_step_has_a_label(kind: EventType, language: str) -> None:
    described = describe_event(TimelineEvent(conversation_id="conv_x", type=kind, actor=ActorKind.AI), language)
    internal = {EventType.NOTE_ADDED, EventType.QUARANTINED, EventType.DELIVERY_UPDATED}
    assert (described is None) == (kind in internal)  # agents' notes and bookkeeping stay internal
    if described is not None:
        assert described["label"] != kind.value and len(described["label"]) > 10
