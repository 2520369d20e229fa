"""The knowledge package's error tree. Every message says what, where and how to fix it."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ArticleInvalid",
    "ArticleProblem",
    "BackOfficeError",
    "BackOfficeUnavailable",
    "ConfigProblem",
    "ConnectorConfigInvalid",
    "ConnectorFailure",
    "ConnectorUnavailable",
    "IndexMissing",
    "KnowledgeError",
    "LookupFailed",
    "LookupNotFound",
    "UnredactedInput",
]


class KnowledgeError(Exception):
    """Base of every error raised by ``knowledge``."""


class ArticleProblem:
    """One problem in one article file: where, which field, what is wrong and how to fix it."""

    __slots__ = ("field", "fix", "path", "problem")

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
        super().__init__(f"no knowledge index in {folder}. Fix: run `glassdesk kb ingest DIR --index {folder}` first.")


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


@enum.unique
class ConnectorFailure(enum.StrEnum):
    """Why a back-office connector could not answer. Each has a fixed text that is safe to show agents."""

    DOWN = "down"
    TIMEOUT = "timeout"
    BREAKER_OPEN = "breaker_open"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    MALFORMED_RESPONSE = "malformed_response"
    AUTH_FAILED = "auth_failed"
    REJECTED = "rejected"
    ROBOT_FAILED = "robot_failed"


_FAILURE_TEXT = {
    ConnectorFailure.DOWN: "the system could not be reached",
    ConnectorFailure.TIMEOUT: "the system did not answer in time",
    ConnectorFailure.BREAKER_OPEN: "the system failed repeatedly and calls to it are paused (circuit breaker open)",
    ConnectorFailure.SERVER_ERROR: "the system answered with server errors",
    ConnectorFailure.RATE_LIMITED: "the system is limiting the request rate",
    ConnectorFailure.MALFORMED_RESPONSE: "the system's answer could not be read",
    ConnectorFailure.AUTH_FAILED: "the system refused Glassdesk's credentials",
    ConnectorFailure.REJECTED: "the system rejected the request",
    ConnectorFailure.ROBOT_FAILED: "the portal robot could not complete its steps",
}


class ConnectorUnavailable(LookupFailed):
    """A back-office connector gave no answer: down, timed out, breaker open, server errors after retries,
    an unreadable answer. Never replaced by a guess; the turn goes to a human.

    ``reason`` is built only from the connector's configured name, the fixed text of ``failure`` and a
    ``detail`` the connector composes from safe parts (an HTTP status, a step number): no customer data,
    no URLs, so it can be shown to agents.
    """

    def __init__(
        self,
        connector: str,
        failure: ConnectorFailure,
        *,
        tool: str,
        attempts: int = 1,
        detail: str = "",
    ) -> None:
        self.connector = connector
        self.failure = failure
        self.detail = detail
        suffix = f" ({detail})" if detail else ""
        super().__init__(tool, f"connector '{connector}': {_FAILURE_TEXT[failure]}{suffix}", attempts=attempts)


class ConfigProblem:
    """One problem in a connector or robot file: where (file:line:column and field path), what, and the fix."""

    __slots__ = ("column", "fix", "line", "path", "problem", "source")

    def __init__(self, source: str, line: int, column: int, path: str, problem: str, fix: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.path = path
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}:{field} {self.problem}.{fix}"

    def __repr__(self) -> str:
        return f"ConfigProblem({str(self)!r})"


class ConnectorConfigInvalid(KnowledgeError):
    """A connector configuration or robot was refused. Every problem is listed, in document order."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        if not problems:
            raise ValueError("ConnectorConfigInvalid needs at least one problem")
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} connector configuration problem(s):\n{lines}")


class UnredactedInput(KnowledgeError):
    """Text bound for an LLM still holds raw PII. Redact it before drafting."""

    def __init__(self, where: str, kind: str) -> None:
        self.where = where
        self.kind = kind
        super().__init__(
            f"{where} contains an unredacted {kind}; redact PII (replace with placeholders) "
            "before calling the LLM drafter"
        )
