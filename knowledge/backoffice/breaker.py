"""A circuit breaker per connector: closed (calls pass), open (calls fail fast for ``open_seconds``),
half-open (one trial call; success closes, failure opens again).

``failure_threshold`` consecutive failures open it. Not-found answers are successes: the system answered.
Single event loop, no locks: every state change happens between awaits.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BreakerConfig", "BreakerState", "CircuitBreaker"]


@enum.unique
class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    open_seconds: float = Field(default=30.0, gt=0, le=3600)


class CircuitBreaker:
    def __init__(self, name: str, config: BreakerConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.config = config
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.config.open_seconds:
            self._state = BreakerState.HALF_OPEN
            self._probing = False
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go through now. In half-open, only the first caller probes."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def succeeded(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probing = False

    def failed(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.config.failure_threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
        self._probing = False

    def abandoned(self) -> None:
        """A permitted call was cancelled before it finished: it proves nothing either way."""
        self._probing = False
