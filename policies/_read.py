"""Reading YAML nodes with marks: report problems with file:line:column, path and a hint."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from policies.errors import Problem
from policies.yamlsafe import DEFAULT_LIMITS, Limits, mark_of

__all__ = ["NodeReader", "Fields", "suggest", "kind_name", "join"]

Fields = dict[str, tuple[yaml.Node, yaml.Node]]


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def kind_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {"str": "text", "int": "a number", "float": "a number", "bool": "true/false", "null": "nothing"}.get(
        node.tag.rsplit(":", 1)[-1], "a value"
    )


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class NodeReader:
    """Collects problems while the loader walks the node tree."""

    def __init__(self, source: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.source = source
        self.limits = limits
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()

    def problem(self, node: yaml.Node, path: str, message: str, hint: str = "") -> None:
        line, column = mark_of(node)
        self.problems.append(
            Problem(source=self.source, line=line, column=column, path=path, message=message, hint=hint)
        )

    def scalar(self, node: yaml.ScalarNode) -> Any:
        return self._constructor.construct_object(node)

    def fields(
        self,
        node: yaml.Node,
        path: str,
        allowed: tuple[str, ...],
        *,
        what: str,
        extra_hint: Callable[[str], str] | None = None,
    ) -> Fields | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                node,
                path,
                f"{what} must be a mapping, not {kind_name(node)}",
                f"write it as 'key: value' lines with: {', '.join(allowed)}",
            )
            return None
        found: Fields = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.problem(key, path, "keys must be plain words", f"use one of: {', '.join(allowed)}")
                continue
            name = str(key.value)
            if name not in allowed:
                special = extra_hint(name) if extra_hint else ""
                hint = special or f"{suggest(name, allowed)}allowed fields: {', '.join(allowed)}"
                self.problem(key, join(path, name), f"unknown field '{name}'", hint)
                continue
            found.setdefault(name, (key, value))
        return found

    def text(self, node: yaml.Node, path: str, *, what: str, max_len: int = 2000) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith((":map", ":seq")):
            self.problem(node, path, f"{what} must be text, not {kind_name(node)}")
            return None
        value = self.scalar(node)
        if value is None:
            self.problem(node, path, f"{what} is empty", "write a value or remove the field")
            return None
        text = str(node.value)
        if len(text) > max_len:
            self.problem(node, path, f"{what} is longer than {max_len} characters")
            return None
        return text

    # -- document -------------------------------------------------------------------------------
