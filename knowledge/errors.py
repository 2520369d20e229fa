"""The knowledge package's error tree. Every message says what, where and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "KnowledgeError",
    "ArticleProblem",
    "ArticleInvalid",
    "IndexMissing",
    "BackOfficeError",
    "BackOfficeUnavailable",
    "LookupNotFound",
    "LookupFailed",
    "UnredactedInput",
]


class KnowledgeError(Exception):
    """Base of every error raised by ``knowledge``."""


class ArticleProblem:
    """One problem in one article file: where, which field, what is wrong and how to fix it."""

    __slots__ = ("path", "field", "problem", "fix")

    def __init__(self, path: Path, field: str, problem: str, fix: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.path}: field '{self.field}': {self.problem}. Fix: {self.fix}"

    def __repr__(self) -> str:
        return f"ArticleProblem({str(self)!r})"


class ArticleInvalid(KnowledgeError):
    """One or more articles failed validation. All problems are listed, none is dropped."""

    def __init__(self, problems: Sequence[ArticleProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} knowledge article problem(s):\n{lines}")


class IndexMissing(KnowledgeError):
    """No persisted index at the given folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        super().__init__(
            f"no knowledge index in {folder}. Fix: run `glassdesk kb ingest DIR --index {folder}` first."
        )


class BackOfficeError(KnowledgeError):
    """The back office answered with an error that retrying will not fix."""


class BackOfficeUnavailable(BackOfficeError):
    """A transient back-office failure (locked database, dropped connection): retry may help."""


class LookupNotFound(KnowledgeError):
    """Nothing with this reference exists *for this customer*.

    Deliberately the same whether the record does not exist or belongs to someone else,
    so a lookup never reveals that another customer's order, policy or claim exists.
    """

    def __init__(self, kind: str, reference: str) -> None:
        self.kind = kind
        self.reference = reference
        super().__init__(f"no {kind} '{reference}' found for this customer")


class LookupFailed(KnowledgeError):
    """A lookup could not be completed (timeout, back office down). ``reason`` says which."""

    def __init__(self, tool: str, reason: str, *, attempts: int) -> None:
        self.tool = tool
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"lookup '{tool}' failed after {attempts} attempt(s): {reason}. "
            "The turn should go to a human; check the back office connection and timeout settings."
        )


class UnredactedInput(KnowledgeError):
    """Text bound for an LLM still holds raw PII. Redact it before drafting."""

    def __init__(self, where: str, kind: str) -> None:
        self.where = where
        self.kind = kind
        super().__init__(
            f"{where} contains an unredacted {kind}; redact PII (replace with placeholders) "
            "before calling the LLM drafter"
        )
