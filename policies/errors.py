"""What went wrong in a policy document, where, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

__all__ = ["Problem", "PolicyError"]


class Problem(BaseModel):
    """One thing wrong with a policy. ``line`` and ``column`` count from 1."""

    model_config = ConfigDict(frozen=True)

    source: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        path = f" {self.path}:" if self.path else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}:{path} {self.message}{hint}"


class PolicyError(ValueError):
    """A policy was refused. ``problems`` lists every problem found, in document order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("PolicyError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
