"""Reading actions: a route, and for handoff a queue, priority and SLA."""

from __future__ import annotations

import re

import yaml

from policies._read import NodeReader, join, suggest
from policies.model import DEFAULT_SLA_MINUTES, RULE_ID_PATTERN, Action, Priority, Route

__all__ = ["read_action"]

_SLUG = re.compile(RULE_ID_PATTERN)
_ACTION_FIELDS = ("route", "queue", "priority", "sla_minutes", "summary")
_HANDOFF_ONLY = ("queue", "priority", "sla_minutes")


def read_action(reader: NodeReader, node: yaml.Node, path: str) -> Action | None:
    """`then:`/`default:` as a bare route or a mapping; None (with problems) if invalid."""
    if isinstance(node, yaml.ScalarNode):
        route = _read_route(reader, node, path)
        if route is None:
            return None
        if route is Route.HANDOFF:
            return Action.handoff("general")
        return Action(route=route)
    before = len(reader.problems)
    fields = reader.fields(node, path, _ACTION_FIELDS, what="an action")
    if fields is None or len(reader.problems) > before:
        return None
    if "route" not in fields:
        reader.problem(
            node, join(path, "route"), "action has no 'route'", "add 'route:' with one of: " + ", ".join(Route)
        )
        return None
    route = _read_route(reader, fields["route"][1], join(path, "route"))
    if route is None:
        return None
    ok = True
    if route is not Route.HANDOFF:
        for name in _HANDOFF_ONLY:
            if name in fields:
                reader.problem(
                    fields[name][0],
                    join(path, name),
                    f"'{name}' only applies to route: handoff, not {route}",
                    f"remove '{name}' or use route: handoff",
                )
                ok = False
    queue = "general"
    if "queue" in fields and route is Route.HANDOFF:
        queue_node = fields["queue"][1]
        queue = reader.text(queue_node, join(path, "queue"), what="'queue'") or ""
        if queue and not _SLUG.match(queue):
            reader.problem(
                queue_node,
                join(path, "queue"),
                f"queue '{queue}' is not a valid name",
                "use lowercase letters, digits, '-' or '_'",
            )
            ok = False
        ok = ok and bool(queue)
    priority = Priority.NORMAL
    if "priority" in fields and route is Route.HANDOFF:
        priority_node = fields["priority"][1]
        priority_text = reader.text(priority_node, join(path, "priority"), what="'priority'")
        if priority_text is not None and priority_text in tuple(Priority):
            priority = Priority(priority_text)
        else:
            if priority_text is not None:
                reader.problem(
                    priority_node,
                    join(path, "priority"),
                    f"unknown priority '{priority_text}'",
                    f"{suggest(priority_text, list(Priority))}use one of: " + ", ".join(Priority),
                )
            ok = False
    sla = DEFAULT_SLA_MINUTES[priority]
    if "sla_minutes" in fields and route is Route.HANDOFF:
        sla_node = fields["sla_minutes"][1]
        value = reader.scalar(sla_node) if isinstance(sla_node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 43200:
            reader.problem(
                sla_node,
                join(path, "sla_minutes"),
                "'sla_minutes' must be a whole number of minutes from 1 to 43200",
                "e.g. sla_minutes: 60",
            )
            ok = False
        else:
            sla = value
    summary = False
    if "summary" in fields:
        summary_node = fields["summary"][1]
        value = reader.scalar(summary_node) if isinstance(summary_node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            reader.problem(summary_node, join(path, "summary"), "'summary' must be true or false")
            ok = False
        elif value and route in (Route.AUTO_REPLY, Route.ASK_CLARIFICATION):
            reader.problem(
                fields["summary"][0],
                join(path, "summary"),
                f"'summary' is for the human who picks the case up, not {route}",
                "remove it or use route: handoff / draft_for_approval",
            )
            ok = False
        else:
            summary = value
    if not ok:
        return None
    if route is Route.HANDOFF:
        return Action.handoff(queue, priority, sla_minutes=sla, summary=summary)
    return Action(route=route, summary=summary)


def _read_route(reader: NodeReader, node: yaml.Node, path: str) -> Route | None:
    text = reader.text(node, path, what="the route")
    if text is None:
        return None
    try:
        return Route(text)
    except ValueError:
        reader.problem(
            node, path, f"unknown route '{text}'", f"{suggest(text, list(Route))}use one of: " + ", ".join(Route)
        )
        return None
