"""Read a policy document (YAML text) into a typed :class:`Policy`, or say exactly what is wrong."""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

import yaml
from pydantic import ValidationError

from policies._read import NodeReader, join, kind_name
from policies.actions import read_action
from policies.checks import RuleSite, check_rules
from policies.conditions import read_when
from policies.errors import PolicyError, Problem
from policies.model import RULE_ID_PATTERN, Policy, Route, Rule, When
from policies.yamlsafe import DEFAULT_LIMITS, compose

__all__ = ["load_policy", "load_policy_file", "validate", "MAX_RULES"]

MAX_RULES = 300
_SLUG = re.compile(RULE_ID_PATTERN)
_POLICY_FIELDS = ("name", "description", "version", "rules", "default")
_RULE_FIELDS = ("id", "description", "when", "then")


def load_policy(text: str, *, source: str = "<policy>", version: str | None = None) -> Policy:
    """Parse and validate ``text``. Raises :class:`PolicyError` listing every problem found.

    ``version`` (from the policy store) wins over a ``version:`` field in the document.
    """
    return _Reader(source).read(text, version=version)


def load_policy_file(path: str | os.PathLike[str], *, version: str | None = None) -> Policy:
    """Read a policy file (at most ``DEFAULT_LIMITS.max_bytes``) and load it."""
    source = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyError(
            [
                Problem(
                    source=source,
                    line=line,
                    column=1,
                    path="",
                    message="file is not valid UTF-8",
                    hint="save the policy as UTF-8 text",
                )
            ]
        ) from None
    return load_policy(text, source=source, version=version)


def validate(text: str, *, source: str = "<policy>") -> list[Problem]:
    """Every problem in ``text``, in document order; an empty list means the policy is valid."""
    try:
        load_policy(text, source=source)
    except PolicyError as err:
        return list(err.problems)
    return []


class _Reader(NodeReader):
    """Reads a whole policy document."""

    def read(self, text: str, *, version: str | None) -> Policy:
        root = compose(text, source=self.source, limits=self.limits)
        if root is None:
            raise PolicyError(
                [
                    Problem(
                        source=self.source,
                        line=1,
                        column=1,
                        path="",
                        message="the policy is empty",
                        hint="a policy needs at least 'default:', e.g. 'default: draft_for_approval'",
                    )
                ]
            )
        policy = self._policy(root, version=version)
        if self.problems or policy is None:
            problems = sorted(self.problems, key=lambda p: (p.line, p.column))
            raise PolicyError(
                problems or [Problem(source=self.source, line=1, column=1, path="", message="the policy is invalid")]
            )
        return policy

    def _policy(self, root: yaml.Node, *, version: str | None) -> Policy | None:
        fields = self.fields(root, "", _POLICY_FIELDS, what="the policy", extra_hint=_top_hint)
        if fields is None:
            return None
        values: dict[str, Any] = {}
        for name in ("name", "description", "version"):
            if name in fields:
                value = self.text(fields[name][1], name, what=f"'{name}'")
                if value is not None:
                    values[name] = value
        if version is not None:
            values["version"] = version
        rules: list[Rule] = []
        ok = True
        if "rules" in fields:
            read = self._rules(fields["rules"][1])
            ok = read is not None
            rules = read or []
        if "default" in fields:
            default = read_action(self, fields["default"][1], "default")
        else:
            default = None
            self.problem(
                root, "default", "missing 'default'", "add 'default: draft_for_approval' (used when no rule matches)"
            )
        if default is None or not ok:
            return None
        try:
            return Policy(rules=tuple(rules), default=default, **values)
        except ValidationError as exc:  # pragma: no cover - the reader checks all of this first
            self.problem(root, "", f"invalid policy: {exc.errors()[0]['msg']}")
            return None

    def _rules(self, node: yaml.Node) -> list[Rule] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(
                node, "rules", f"'rules' must be a list, not {kind_name(node)}", "start each rule with '- id: ...'"
            )
            return None
        if len(node.value) > MAX_RULES:
            self.problem(node, "rules", f"more than {MAX_RULES} rules", "merge similar rules")
            return None
        rules: list[Rule] = []
        sites: list[RuleSite] = []
        ok = True
        for index, item in enumerate(node.value):
            path = f"rules[{index}]"
            read = self._rule(item, path)
            if read is None:
                ok = False
                continue
            rule, site = read
            rules.append(rule)
            sites.append(site)
        for problem in check_rules(rules, sites, source=self.source):
            self.problems.append(problem)
            ok = False
        return rules if ok else None

    def _rule(self, node: yaml.Node, path: str) -> tuple[Rule, RuleSite] | None:
        before = len(self.problems)
        fields = self.fields(node, path, _RULE_FIELDS, what="a rule", extra_hint=_rule_hint)
        if fields is None:
            return None
        rule_id = None
        if "id" not in fields:
            self.problem(
                node,
                join(path, "id"),
                "rule has no 'id'",
                "add 'id: some-name' (lowercase letters, digits, '-' and '_')",
            )
        else:
            id_node = fields["id"][1]
            rule_id = self.text(id_node, join(path, "id"), what="'id'")
            if rule_id is not None and not _SLUG.match(rule_id):
                self.problem(
                    id_node,
                    join(path, "id"),
                    f"rule id '{rule_id}' is not a valid id",
                    "use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
                )
                rule_id = None
        description = ""
        if "description" in fields:
            description = self.text(fields["description"][1], join(path, "description"), what="'description'") or ""
        when: When | None = None
        when_ok = True
        if "when" in fields:
            when = read_when(self, fields["when"][1], join(path, "when"), depth=0)
            when_ok = when is not None
        then = None
        if "then" not in fields:
            self.problem(
                node, join(path, "then"), "rule has no 'then'", "add 'then: <route>' with one of: " + ", ".join(Route)
            )
        else:
            then = read_action(self, fields["then"][1], join(path, "then"))
        if rule_id is None or then is None or not when_ok or len(self.problems) > before:
            return None
        rule = Rule(id=rule_id, description=description, when=when, then=then)
        site = RuleSite(node=node, id_node=fields["id"][1], path=path, then_node=fields["then"][1])
        return rule, site


_RULE_SYNONYMS = {
    "condition": "when",
    "conditions": "when",
    "if": "when",
    "match": "when",
    "where": "when",
    "action": "then",
    "do": "then",
    "route": "then",
    "name": "id",
}


def _rule_hint(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), list(_RULE_SYNONYMS), n=1, cutoff=0.7)
    if close:
        return f"did you mean '{_RULE_SYNONYMS[close[0]]}'? allowed fields: " + ", ".join(_RULE_FIELDS)
    return ""


def _top_hint(name: str) -> str:
    if name in ("guards", "guard"):
        return "guards are built in and cannot be configured or disabled in a policy"
    return ""
