"""Keep secrets that travel in URL paths out of the web access log.

A customer's status link (``/status/<token>``) is a bearer secret: anyone holding it reads the
conversation's timeline. uvicorn's access log writes every request path, so its logger gets a filter
that replaces the token before the record is formatted (``/status/[redacted]``, also for
``/status/<token>/events``). It works on the record, so every handler and format uvicorn or a
deployment configures gets the redacted path.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactPathSecrets", "redact_path_secrets", "install_access_log_redaction", "ACCESS_LOGGERS"]

ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")  # uvicorn.error logs WebSocket paths
_SECRET_PATH = re.compile(r"(/status/)[^/?#\s\"']+")
REDACTED = r"\1[redacted]"


def redact_path_secrets(text: str) -> str:
    return _SECRET_PATH.sub(REDACTED, text)


class RedactPathSecrets(logging.Filter):
    """Rewrites the message and its string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path_secrets(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_path_secrets(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_access_log_redaction() -> None:
    """Attach the filter to uvicorn's loggers once (idempotent; call it when the app is built, which
    is after uvicorn configured its logging)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactPathSecrets) for f in logger.filters):
            logger.addFilter(RedactPathSecrets())
