"""The typed policy: rules with conditions and actions, and the decision ``evaluate`` returns."""

from __future__ import annotations

import enum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

from conversation.enums import Priority, Route
from policies.operators import Operator

__all__ = [
    "Route",
    "Priority",
    "GroupMode",
    "Value",
    "Condition",
    "Group",
    "When",
    "Action",
    "Rule",
    "Policy",
    "PolicyVersion",
    "Decision",
    "DEFAULT_SLA_MINUTES",
    "RULE_ID_PATTERN",
]

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


DEFAULT_SLA_MINUTES: dict[Priority, int] = {
    Priority.LOW: 1440,
    Priority.NORMAL: 240,
    Priority.HIGH: 60,
    Priority.URGENT: 15,
}


@enum.unique
class GroupMode(enum.StrEnum):
    ALL = "all"
    ANY = "any"


_Frozen = ConfigDict(frozen=True, extra="forbid")

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Value = Scalar | tuple[Scalar, ...] | None


class Condition(BaseModel):
    """``fact op value``, e.g. ``anger gte 0.7``. ``value`` is absent for is_true / is_false."""

    model_config = _Frozen

    fact: str
    op: Operator
    value: Value = None


class Group(BaseModel):
    """``all`` (every item matches) or ``any`` (at least one matches) of conditions or groups."""

    model_config = _Frozen

    mode: GroupMode
    items: Annotated[tuple[Condition | Group, ...], Field(min_length=1)]


When = Condition | Group


class Action(BaseModel):
    """Where a turn goes. ``queue``, ``priority`` and ``sla_minutes`` belong to handoff only."""

    model_config = _Frozen

    route: Route
    queue: str | None = None
    priority: Priority | None = None
    sla_minutes: Annotated[int, Field(gt=0, le=43200)] | None = None
    summary: bool = False

    @model_validator(mode="after")
    def _handoff_fields(self) -> Self:
        if self.route is Route.HANDOFF:
            if not self.queue or self.priority is None or self.sla_minutes is None:
                raise ValueError("a handoff needs queue, priority and sla_minutes")
        elif self.queue is not None or self.priority is not None or self.sla_minutes is not None:
            raise ValueError(f"queue, priority and sla_minutes only apply to handoff, not {self.route}")
        return self

    @classmethod
    def handoff(
        cls,
        queue: str,
        priority: Priority = Priority.NORMAL,
        *,
        sla_minutes: int | None = None,
        summary: bool = False,
    ) -> Action:
        sla = DEFAULT_SLA_MINUTES[priority] if sla_minutes is None else sla_minutes
        return cls(route=Route.HANDOFF, queue=queue, priority=priority, sla_minutes=sla, summary=summary)


class Rule(BaseModel):
    """One ordered rule. No ``when`` means the rule matches every turn."""

    model_config = _Frozen

    id: Annotated[str, Field(pattern=RULE_ID_PATTERN)]
    description: str = ""
    when: When | None = None
    then: Action


class Policy(BaseModel):
    """A validated policy. Rules are tried in order; the first match wins; else ``default``."""

    model_config = _Frozen

    name: str = "policy"
    description: str = ""
    version: str = "unversioned"
    rules: tuple[Rule, ...] = ()
    default: Action

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self


class PolicyVersion(BaseModel):
    """Store metadata for one saved version of a policy document."""

    model_config = _Frozen

    version: str
    author: str
    message: str = ""


class Decision(BaseModel):
    """What to do with a turn, and why. ``rule_id``: a policy rule, ``default`` or ``guard:*``."""

    model_config = _Frozen

    route: Route
    queue: str | None = None
    priority: Priority | None = None
    sla_minutes: int | None = None
    summary: bool = False
    rule_id: str
    policy_name: str
    policy_version: str
    reason: str
    overridden_rule_id: str | None = None
    overridden_route: Route | None = None

    @property
    def guarded(self) -> bool:
        return self.rule_id.startswith("guard:")

    @classmethod
    def from_action(cls, action: Action, *, rule_id: str, policy: Policy, reason: str) -> Decision:
        return cls(
            route=action.route,
            queue=action.queue,
            priority=action.priority,
            sla_minutes=action.sla_minutes,
            summary=action.summary,
            rule_id=rule_id,
            policy_name=policy.name,
            policy_version=policy.version,
            reason=reason,
        )


Group.model_rebuild()
Rule.model_rebuild()
