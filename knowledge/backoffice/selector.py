"""JSONPath-like selectors for mapping a JSON answer onto back-office models.

The subset, enough for response mapping and small enough to read in one go::

    $                   the node being mapped (the answer, or the current element inside ``each``/``at``)
    .name               a member (letters, digits, '_' and '-'; not starting with a digit or '-')
    ['any name']        a member whose name has other characters
    [0]  [-1]           an array element, counting from the end when negative
    [*]                 every element of an array (at most once per selector)

No filters, no recursion, no scripts. :func:`parse_selector` raises :class:`SelectorSyntaxError` with the
offset of the problem, so config errors can point at the exact column.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["MISSING", "Selector", "SelectorSyntaxError", "parse_selector"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INDEX = re.compile(r"-?\d{1,9}")
_MAX_STEPS = 32


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What a selector gives when its path does not exist in the document (distinct from JSON ``null``)."""


class SelectorSyntaxError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        self.message = message
        self.offset = offset
        super().__init__(f"{message} (at character {offset + 1})")


class Selector(BaseModel):
    """A parsed selector. ``steps`` holds member names (str), array indexes (int) and ``None`` for ``[*]``."""

    model_config = ConfigDict(frozen=True)

    text: str
    steps: tuple[str | int | None, ...]

    @property
    def many(self) -> bool:
        return None in self.steps

    def one(self, document: Any) -> Any:
        """The single value at this path, or :data:`MISSING`. Only for selectors without ``[*]``."""
        if self.many:
            raise ValueError(f"selector {self.text} selects many values; use many()")
        return _walk(document, self.steps)

    def many_values(self, document: Any) -> list[Any] | None:
        """Every value at this path, or None when the path is broken.

        With ``[*]`` the array before it must exist and each element must have the rest of the path.
        Without ``[*]`` the value must be an array; its elements are the values.
        """
        if not self.many:
            value = _walk(document, self.steps)
            return list(value) if isinstance(value, list) else None
        cut = self.steps.index(None)
        array = _walk(document, self.steps[:cut])
        if not isinstance(array, list):
            return None
        out: list[Any] = []
        for element in array:
            value = _walk(element, self.steps[cut + 1 :])
            if value is MISSING:
                return None
            out.append(value)
        return out

    def __str__(self) -> str:
        return self.text


def _walk(node: Any, steps: tuple[str | int | None, ...]) -> Any:
    for step in steps:
        if isinstance(step, str):
            if not isinstance(node, dict) or step not in node:
                return MISSING
            node = node[step]
        elif isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return MISSING
            node = node[step]
        else:  # pragma: no cover - many_values() splits at the wildcard
            raise TypeError("a wildcard step cannot be walked")
    return node


def parse_selector(text: str) -> Selector:
    if not text.startswith("$"):
        raise SelectorSyntaxError("a selector starts with '$' (the node being mapped), e.g. '$.data.status'", 0)
    steps: list[str | int | None] = []
    i = 1
    while i < len(text):
        if len(steps) >= _MAX_STEPS:
            raise SelectorSyntaxError(f"more than {_MAX_STEPS} steps", i)
        char = text[i]
        if char == ".":
            match = _NAME.match(text, i + 1)
            if match is None:
                raise SelectorSyntaxError("expected a member name after '.' (use ['...'] for other characters)", i + 1)
            steps.append(match.group())
            i = match.end()
        elif char == "[":
            i = _bracket(text, i, steps)
        else:
            raise SelectorSyntaxError(f"unexpected '{char}'; write .name, [0], ['name'] or [*]", i)
    if steps.count(None) > 1:
        raise SelectorSyntaxError("at most one [*] per selector", text.rindex("[*]"))
    return Selector(text=text, steps=tuple(steps))


def _bracket(text: str, start: int, steps: list[str | int | None]) -> int:
    end = text.find("]", start)
    if end < 0:
        raise SelectorSyntaxError("'[' is never closed", start)
    inner = text[start + 1 : end]
    if inner == "*":
        steps.append(None)
    elif _INDEX.fullmatch(inner):
        steps.append(int(inner))
    elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        name = inner[1:-1]
        if not name or inner[0] in name:
            raise SelectorSyntaxError("empty or badly quoted member name", start + 1)
        steps.append(name)
    else:
        raise SelectorSyntaxError(f"'[{inner}]' is not an index, a quoted name or [*]", start + 1)
    return end + 1
