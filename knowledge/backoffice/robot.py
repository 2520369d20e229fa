"""A portal robot as data: login steps and, per lookup, the steps that find a record and read its fields.

The step kinds are a closed set; there is no free code. ``goto`` stays on the connector's portal (paths
only), ``fill`` types a rendered placeholder or a named secret, ``click`` presses, ``wait_for`` waits for
an element (or for the ``missing`` element, meaning "no such record"), ``read`` takes an element's text
into a model field. ``line`` is where the step is written, for the failure screenshot's notes.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.mapping import ValueRule
from knowledge.backoffice.template import Template

__all__ = [
    "Click",
    "Fill",
    "Goto",
    "PoolConfig",
    "Read",
    "Robot",
    "RobotLookup",
    "RpaConnector",
    "Step",
    "StepKind",
    "WaitFor",
    "SCREENSHOT_GRACE_SECONDS",
]

SCREENSHOT_GRACE_SECONDS = 3.0
"""A failed robot run may take this long past its budget, to keep its screenshot."""


@enum.unique
class StepKind(enum.StrEnum):
    GOTO = "goto"
    FILL = "fill"
    CLICK = "click"
    WAIT_FOR = "wait_for"
    READ = "read"


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int


class Goto(_Step):
    kind: Literal[StepKind.GOTO] = StepKind.GOTO
    path: Template


class Fill(_Step):
    """Exactly one of ``value`` (a template over the lookup's placeholders) and ``secret`` (a name)."""

    kind: Literal[StepKind.FILL] = StepKind.FILL
    selector: str
    value: Template | None = None
    secret: str | None = None


class Click(_Step):
    kind: Literal[StepKind.CLICK] = StepKind.CLICK
    selector: str


class WaitFor(_Step):
    kind: Literal[StepKind.WAIT_FOR] = StepKind.WAIT_FOR
    selector: str
    missing: str | None = None


class Read(_Step):
    """``all``: the texts of every match (for list-of-text fields), else the one match's text."""

    kind: Literal[StepKind.READ] = StepKind.READ
    field: str
    selector: str
    all: bool = False
    rule: ValueRule = ValueRule()


Step = Annotated[Goto | Fill | Click | WaitFor | Read, Field(discriminator="kind")]


class RobotLookup(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: LookupName
    steps: tuple[Step, ...]

    @property
    def reads(self) -> tuple[Read, ...]:
        return tuple(s for s in self.steps if isinstance(s, Read))


class Robot(BaseModel):
    """``mask``: selectors blanked on failure screenshots besides every filled and read element."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    login: tuple[Step, ...] = ()
    mask: tuple[str, ...] = ()
    lookups: dict[LookupName, RobotLookup]


class PoolConfig(BaseModel):
    """At most ``max_contexts`` lookups run at once, in at most ``max_browsers`` Chromium processes."""

    model_config = ConfigDict(frozen=True)

    max_browsers: int = Field(default=1, ge=1, le=8)
    max_contexts: int = Field(default=2, ge=1, le=32)


class RpaConnector(BaseModel):
    """Where a robot runs: the portal's ``base_url`` (``goto`` paths are appended to it; the browser may load
    nothing outside its origin), the time budget of one lookup (waiting for a browser, logging in and every
    step), the per-step timeout within it, the pool, and how many failure screenshots to keep."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str
    robot: Robot
    budget_seconds: float = 15.0
    step_timeout_seconds: float = 5.0
    pool: PoolConfig = PoolConfig()
    keep_screenshots: int = 200
