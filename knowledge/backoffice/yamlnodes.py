"""Safe YAML for connector and robot files: node trees with line/column marks, and a reader that collects
problems as ``file:line:column: path: what. Fix: how``.

Refused before anything is built: anchors and aliases, tags, more than one document, oversized or deeply
nested input. Values are never constructed from tags; the reader turns scalars into text, numbers and
booleans itself. (The same rules as ``policies/yamlsafe.py``; knowledge may not import policies.)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Protocol

import yaml

from knowledge.errors import ConfigProblem, ConnectorConfigInvalid

__all__ = ["MAX_BYTES", "NodeReader", "Pairs", "compose", "join", "kind_name", "suggest"]

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 24
_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STD = "tag:yaml.org,2002:"

Pairs = dict[str, tuple[yaml.Node, yaml.Node]]


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def kind_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {"str": "text", "int": "a number", "float": "a number", "bool": "true/false", "null": "nothing"}.get(
        node.tag.rsplit(":", 1)[-1], "a value"
    )


class _Mark(Protocol):
    line: int
    column: int


def _fail(source: str, mark: _Mark | None, problem: str, fix: str) -> ConnectorConfigInvalid:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ConnectorConfigInvalid([ConfigProblem(source, line, column, "", problem, fix)])


def _prescan(text: str, source: str) -> None:
    depth = nodes = documents = 0
    for event in yaml.parse(text, Loader=_PARSER):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _fail(
                    source,
                    event.start_mark,
                    "more than one YAML document ('---')",
                    "keep exactly one document per file",
                )
        elif isinstance(event, yaml.AliasEvent):
            raise _fail(
                source,
                event.start_mark,
                f"alias '*{event.anchor}' is not allowed",
                "write the value out in full; anchors and aliases are refused",
            )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.NodeEvent):
            if event.anchor:
                raise _fail(
                    source,
                    event.start_mark,
                    f"anchor '&{event.anchor}' is not allowed",
                    "remove the anchor and write values out in full",
                )
            tag = getattr(event, "tag", None)
            if tag not in (None, "!"):
                raise _fail(
                    source,
                    event.start_mark,
                    f"tag '{tag}' is not allowed",
                    "remove the tag; use plain text, numbers, true/false, lists and mappings",
                )
            nodes += 1
            if nodes > MAX_NODES:
                raise _fail(
                    source,
                    event.start_mark,
                    f"the file has more than {MAX_NODES} YAML nodes",
                    "split it into smaller files",
                )
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _fail(
                        source, event.start_mark, f"nested deeper than {MAX_DEPTH} levels", "flatten the structure"
                    )


def compose(text: str, *, source: str) -> yaml.Node | None:
    """The node tree of ``text`` (None when empty), or :class:`ConnectorConfigInvalid`."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _fail(source, None, f"the file is larger than {MAX_BYTES} bytes", "split it into smaller files")
    try:
        _prescan(text, source)
        return yaml.compose(text, Loader=_PARSER)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "invalid YAML"
        fix = "indent with spaces, not tabs" if "tab" in problem else "check indentation and quoting here"
        raise _fail(source, exc.problem_mark or exc.context_mark, f"invalid YAML: {problem}", fix) from None
    except yaml.YAMLError as exc:
        raise _fail(source, None, f"invalid YAML: {exc}", "save the file as plain UTF-8 YAML") from None


class NodeReader:
    """Walks a node tree and collects every problem; :meth:`finish` raises them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[ConfigProblem] = []

    def problem(self, node: yaml.Node, path: str, problem: str, fix: str, *, offset: int | None = None) -> None:
        """Record a problem at ``node``, or ``offset`` characters into its text (a single-line scalar)."""
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if offset is not None and isinstance(node, yaml.ScalarNode) and "\n" not in str(node.value):
            column += offset + (1 if node.style in ("'", '"') else 0)
        self.problems.append(ConfigProblem(self.source, line, column, path, problem, fix))

    def finish(self) -> None:
        if self.problems:
            raise ConnectorConfigInvalid(sorted(self.problems, key=lambda p: (p.source, p.line, p.column)))

    # -- structure ------------------------------------------------------------------------------

    def pairs(self, node: yaml.Node, path: str, *, what: str, fix: str) -> Pairs | None:
        """The ``key -> (key node, value node)`` of a mapping; duplicate and non-text keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, path, f"{what} must be a mapping, not {kind_name(node)}", fix)
            return None
        found: Pairs = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or not str(key.value):
                self.problem(key, path, "keys must be plain words", fix)
                continue
            name = str(key.value)
            if name in found:
                first = found[name][0].start_mark.line + 1
                self.problem(
                    key, join(path, name), f"duplicate key '{name}' (first on line {first})", "keep one of them"
                )
                continue
            found[name] = (key, value)
        return found

    def fields(
        self,
        node: yaml.Node,
        path: str,
        *,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        what: str,
    ) -> Pairs | None:
        allowed = tuple(allowed)
        listing = ", ".join(allowed)
        found = self.pairs(node, path, what=what, fix=f"write it as 'key: value' lines with: {listing}")
        if found is None:
            return None
        for name, (key, _value) in list(found.items()):
            if name not in allowed:
                self.problem(
                    key,
                    join(path, name),
                    f"unknown field '{name}' in {what}",
                    f"{suggest(name, allowed)}allowed fields: {listing}",
                )
                del found[name]
        for name in required:
            if name not in found:
                self.problem(node, join(path, name), f"{what} has no '{name}'", f"add '{name}: ...'")
        return found

    def items(self, node: yaml.Node, path: str, *, what: str, fix: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, path, f"{what} must be a list, not {kind_name(node)}", fix)
            return None
        return list(node.value)

    # -- scalars --------------------------------------------------------------------------------

    def text(self, node: yaml.Node, path: str, *, what: str, max_len: int = 2000) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, path, f"{what} must be text, not {kind_name(node)}", "write a single value")
            return None
        value = str(node.value)
        if node.tag == _STD + "null" or not value.strip():
            self.problem(node, path, f"{what} is empty", "write a value or remove the field")
            return None
        if len(value) > max_len:
            self.problem(node, path, f"{what} is longer than {max_len} characters", "shorten it")
            return None
        return value

    def number(self, node: yaml.Node, path: str, *, what: str, minimum: float, maximum: float) -> float | None:
        raw = self._plain(node, path, what=what, expected="a number")
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not minimum <= value <= maximum:
            self.problem(
                node,
                path,
                f"{what} must be a number from {minimum:g} to {maximum:g}, not '{raw}'",
                f"write a number such as {minimum if minimum > 0 else maximum / 10:g}",
            )
            return None
        return value

    def integer(self, node: yaml.Node, path: str, *, what: str, minimum: int, maximum: int) -> int | None:
        raw = self._plain(node, path, what=what, expected="a whole number")
        if raw is None:
            return None
        if not raw.lstrip("-").isdigit() or not minimum <= int(raw) <= maximum:
            self.problem(
                node,
                path,
                f"{what} must be a whole number from {minimum} to {maximum}, not '{raw}'",
                f"write a whole number such as {minimum}",
            )
            return None
        return int(raw)

    def boolean(self, node: yaml.Node, path: str, *, what: str) -> bool | None:
        raw = self._plain(node, path, what=what, expected="true or false")
        if raw is None:
            return None
        if node.tag != _STD + "bool":
            self.problem(node, path, f"{what} must be true or false, not '{raw}'", "write true or false")
            return None
        return raw.lower() in ("true", "yes", "on")

    def text_map(self, node: yaml.Node, path: str, *, what: str, max_items: int = 200) -> dict[str, str] | None:
        """A flat ``text: text`` mapping (value translations, query parameters, headers)."""
        found = self.pairs(node, path, what=what, fix="write it as 'name: value' lines")
        if found is None:
            return None
        if len(found) > max_items:
            self.problem(node, path, f"{what} has more than {max_items} entries", "remove some")
            return None
        out: dict[str, str] = {}
        for name, (_key, value) in found.items():
            text = self._plain(value, join(path, name), what=f"'{name}'", expected="text")
            if text is not None:
                out[name] = text
        return out if len(out) == len(found) else None

    def _plain(self, node: yaml.Node, path: str, *, what: str, expected: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == _STD + "null" or not str(node.value).strip():
            self.problem(node, path, f"{what} must be {expected}, not {kind_name(node)}", f"write {expected}")
            return None
        return str(node.value).strip()
