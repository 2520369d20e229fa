"""Text templates with ``{name}`` placeholders (paths, query values, headers, robot inputs). Nothing else is
evaluated: no expressions, no attribute access, no format specs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict

__all__ = ["Template", "TemplateSyntaxError", "parse_template"]

_PART = re.compile(r"\{([^{}]*)\}|([^{}]+)|([{}])")
_VAR = re.compile(r"[a-z][a-z0-9_]{0,40}")


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, offset: int, fix: str) -> None:
        self.message = message
        self.offset = offset
        self.fix = fix
        super().__init__(f"{message} (at character {offset + 1})")


class Template(BaseModel):
    """``parts`` alternate literal text and variable names: ``(text, is_variable)``."""

    model_config = ConfigDict(frozen=True)

    text: str
    parts: tuple[tuple[str, bool], ...]

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(value for value, is_var in self.parts if is_var)

    def render(self, values: Mapping[str, str | None], *, encode: Callable[[str], str] = str) -> str | None:
        """The text with every variable replaced by ``encode(value)``; None if a variable has no value."""
        out: list[str] = []
        for value, is_var in self.parts:
            if not is_var:
                out.append(value)
                continue
            given = values.get(value)
            if given is None:
                return None
            out.append(encode(given))
        return "".join(out)


def parse_template(text: str, *, allowed: tuple[str, ...]) -> Template:
    """Parse ``text``; every ``{variable}`` must be one of ``allowed``."""
    parts: list[tuple[str, bool]] = []
    for match in _PART.finditer(text):
        name, literal, stray = match.groups()
        if stray is not None:
            raise TemplateSyntaxError(
                f"unmatched '{stray}'", match.start(), "write placeholders as {name}; braces cannot appear otherwise"
            )
        if literal is not None:
            parts.append((literal, False))
            continue
        name = name.strip()
        if not _VAR.fullmatch(name):
            raise TemplateSyntaxError(
                f"'{{{name}}}' is not a placeholder name",
                match.start(),
                "use lowercase letters, digits and '_', e.g. {order_number}",
            )
        if name not in allowed:
            choices = ", ".join("{" + a + "}" for a in allowed)
            raise TemplateSyntaxError(
                f"unknown placeholder '{{{name}}}'",
                match.start(),
                f"use one of: {choices}" if choices else "no placeholders are available here",
            )
        parts.append((name, True))
    return Template(text=text, parts=tuple(parts))
