from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies import Facts

FactsFactory = Callable[..., Facts]


def make_facts(**overrides: Any) -> Facts:
    base: dict[str, Any] = {"intent": "order_status", "intent_confidence": 0.9, "channel": "chat"}
    base.update(overrides)
    return Facts(**base)


@pytest.fixture
def facts() -> FactsFactory:
    return make_facts
