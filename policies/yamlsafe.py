"""Safe YAML composition with limits: no anchors or aliases, no custom tags, no duplicate keys.

The parser (libyaml when available, else PyYAML's pure-Python one, both via ``SafeLoader``) only
produces events; this module composes them into PyYAML nodes itself, iteratively, keeping
line/column marks. Nothing is ever constructed from a tag. Limits bound size, node count and depth,
so hostile input (billion laughs, deep nesting) is refused quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import yaml
from pydantic import BaseModel, ConfigDict
from yaml.resolver import Resolver

from policies.errors import PolicyError, Problem

__all__ = ["Limits", "DEFAULT_LIMITS", "ALLOWED_TAGS", "compose", "mark_of"]

_STANDARD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_STANDARD + name for name in ("str", "int", "float", "bool", "null", "map", "seq"))
_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_bytes: int = 128 * 1024
    max_nodes: int = 10_000
    max_depth: int = 32


DEFAULT_LIMITS = Limits()


def mark_of(node: yaml.Node) -> tuple[int, int]:
    """1-based (line, column) where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Fatal(Exception):
    pass


class _Position(Protocol):
    """A parser mark: ``yaml.error.Mark``, or ``yaml._yaml.Mark`` from libyaml (same fields)."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


def _node_mark(mark: _Position | None) -> yaml.Mark | None:
    """An event's mark, for the node composed from it. types-PyYAML declares node marks as
    ``yaml.error.Mark`` only, but libyaml's own composer stores its ``yaml._yaml.Mark`` there too;
    both carry the line and column that :func:`mark_of` reads."""
    return cast("yaml.Mark | None", mark)


# types-PyYAML leaves BaseResolver.resolve unannotated: (node class, scalar value or None, implicit
# flag(s)) -> the tag.
_Resolve = Callable[[type[yaml.Node], str | None, bool | tuple[bool, bool]], str]


@dataclass
class _Frame:
    node: yaml.SequenceNode | yaml.MappingNode
    key: yaml.Node | None = None
    seen: dict[str, yaml.Node] = field(default_factory=dict)


class _Composer:
    def __init__(self, *, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.problems: list[Problem] = []
        self.stack: list[_Frame] = []
        self.root: yaml.Node | None = None
        self.nodes = 0
        self.documents = 0
        self.resolve: _Resolve = Resolver().resolve

    def path(self) -> str:
        """Path of the node being composed. A frame below the top has its open child last."""
        out = ""
        top = len(self.stack) - 1
        for depth, frame in enumerate(self.stack):
            if isinstance(frame.node, yaml.SequenceNode):
                out += f"[{len(frame.node.value) - (depth < top)}]"
                continue
            key = frame.key if depth == top else frame.node.value[-1][0]
            if isinstance(key, yaml.ScalarNode):
                out += ("." if out else "") + str(key.value)
        return out

    def problem(
        self, mark: _Position | None, message: str, hint: str = "", *, path: str | None = None, fatal: bool = False
    ) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.problems.append(
            Problem(
                source=self.source,
                line=line,
                column=column,
                path=self.path() if path is None else path,
                message=message,
                hint=hint,
            )
        )
        if fatal:
            raise _Fatal

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.problem(
                    event.start_mark,
                    "more than one YAML document ('---') in the policy",
                    "keep exactly one document per policy",
                    path="",
                    fatal=True,
                )
            return
        if isinstance(event, yaml.AliasEvent):
            self.problem(
                event.start_mark,
                f"alias '*{event.anchor}' is not allowed in a policy",
                "write the value out in full; anchors and aliases are refused",
                fatal=True,
            )
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            frame = self.stack.pop()
            frame.node.end_mark = event.end_mark
            return
        if not isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            return  # stream and document boundaries; an alias was refused above
        if event.anchor:
            self.problem(
                event.start_mark,
                f"anchor '&{event.anchor}' is not allowed in a policy",
                "remove the anchor and write values out in full",
                fatal=True,
            )
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            self.problem(
                event.start_mark,
                f"document has more than {self.limits.max_nodes} YAML nodes",
                "split the policy or remove repeated rules",
                fatal=True,
            )
        node: yaml.Node
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(
                tag, event.value, _node_mark(event.start_mark), _node_mark(event.end_mark), style=event.style
            )
        else:
            is_seq = isinstance(event, yaml.SequenceStartEvent)
            kind = yaml.SequenceNode if is_seq else yaml.MappingNode
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(kind, None, event.implicit)
            node = kind(tag, [], _node_mark(event.start_mark), None, flow_style=event.flow_style)
        self.check_tag(node)
        self.attach(node)
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            if len(self.stack) >= self.limits.max_depth:
                self.problem(
                    event.start_mark,
                    f"document is nested deeper than {self.limits.max_depth} levels",
                    "flatten the conditions; policies need only a few levels",
                    fatal=True,
                )
            self.stack.append(_Frame(node))

    def check_tag(self, node: yaml.Node) -> None:
        if node.tag in ALLOWED_TAGS:
            return
        if isinstance(node, yaml.ScalarNode) and node.tag == _STANDARD + "timestamp":
            message, hint = f"date value '{node.value}' is not allowed", "quote it to use text"
        else:
            message = f"tag '{node.tag.replace(_STANDARD, '!!')}' is not allowed"
            hint = "remove the tag; policies use plain text, numbers, true/false, lists and maps"
        self.problem(node.start_mark, message, hint)

    def attach(self, node: yaml.Node) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if isinstance(frame.node, yaml.SequenceNode):
            frame.node.value.append(node)
            return
        if frame.key is None:
            if isinstance(node, yaml.ScalarNode):
                name = str(node.value)
                if name in frame.seen:
                    first = frame.seen[name].start_mark.line + 1
                    self.problem(
                        node.start_mark,
                        f"duplicate key '{name}' (first on line {first})",
                        "keep one of them",
                        path=_join(self.path(), name),
                    )
                else:
                    frame.seen[name] = node
            frame.key = node
            return
        frame.node.value.append((frame.key, node))
        frame.key = None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def compose(text: str, *, source: str, limits: Limits = DEFAULT_LIMITS) -> yaml.Node | None:
    """Compose ``text`` into one node tree, or raise :class:`PolicyError`. Empty text gives None."""
    too_big = len(text) > limits.max_bytes
    if too_big or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise PolicyError(
            [
                Problem(
                    source=source,
                    line=1,
                    column=1,
                    path="",
                    message=f"document is larger than {limits.max_bytes} bytes",
                    hint="policies are small; remove repeated content",
                )
            ]
        )
    composer = _Composer(source=source, limits=limits)
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            composer.feed(event)
    except _Fatal:
        raise PolicyError(composer.problems) from None
    except yaml.MarkedYAMLError as exc:
        raise PolicyError([*composer.problems, _from_yaml_error(exc, source=source)]) from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        raise PolicyError(
            [
                Problem(
                    source=source,
                    line=line,
                    column=column,
                    path="",
                    message=f"character U+{int(exc.character):04X} is not allowed in YAML",
                    hint="remove control characters from the document",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error we know is one of those
        raise PolicyError([Problem(source=source, line=1, column=1, path="", message=f"invalid YAML: {exc}")]) from None
    if composer.problems:
        raise PolicyError(composer.problems)
    return composer.root


def _position(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    line = before.count("\n") + 1
    return line, position - (before.rfind("\n") + 1) + 1


def _from_yaml_error(exc: yaml.MarkedYAMLError, *, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context})" if exc.context else ""
    hint = "check indentation and quoting near here"
    if "\\t" in problem or "tab" in problem:
        hint = "indent with spaces, not tabs"
    return Problem(
        source=source, line=line, column=column, path="", message=f"invalid YAML: {problem}{context}", hint=hint
    )
