"""Prefect's logging in a Glassdesk process that runs flows (the worker).

Prefect configures logging lazily, at its first flow run, and then puts its rich console handler on
the root logger. That handler costs ~2.5 ms of CPU per line (it asks the terminal for its size on
every record), more than a task run itself, and every turn logs a line per step. So the worker sets
Prefect's logging up at start and keeps the process's own plain handler on the root logger; Prefect's
API handler stays on its loggers, so the UI still shows every line.

The task engine's own INFO line per task run ("Finished in state Completed()") is dropped: the state
is on the task run, each step logs its verdict line, and a failure is still logged (at ERROR).

Lines sent to the Prefect API carry none of our ids (``msg_…``): a line belongs to its task run, and
the task run's name (``understand_turn[msg_…]``) says which turn it is. Prefect's API cannot delete
log lines, and a deleted flow run leaves its lines behind as orphans, so an id in a line could not be
erased (services/gdpr_prefect.py). The process's own log output keeps the ids."""

from __future__ import annotations

import logging
import re

__all__ = ["keep_plain_log_output", "IdFreeFormatter"]

# our ids (conversation/ids.py: a short prefix, "_", a random token) and chat session tokens
_ID = re.compile(r"\b([A-Za-z]{1,8})_[A-Za-z0-9_-]{12,}")


class IdFreeFormatter(logging.Formatter):
    """Formats as Prefect's API handler does, with every id reduced to its kind (``msg_…``)."""

    def format(self, record: logging.LogRecord) -> str:
        return _ID.sub(r"\1_…", super().format(record))


def keep_plain_log_output() -> None:
    from prefect.logging.configuration import ensure_logging_setup

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ensure_logging_setup()
    if handlers:  # the process configured its output (services.settings.configure_logging): keep it
        root.handlers[:] = handlers
        root.setLevel(level)
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    _send_step_lines_to_prefect()
    _strip_ids_from_api_lines()


def _api_handlers() -> list[logging.Handler]:
    from prefect.logging.handlers import APILogHandler

    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    seen: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, APILogHandler):
                seen[id(handler)] = handler
    return list(seen.values())


def _strip_ids_from_api_lines() -> None:
    for handler in _api_handlers():
        if not isinstance(handler.formatter, IdFreeFormatter):
            fmt = handler.formatter
            handler.setFormatter(IdFreeFormatter(fmt._fmt if fmt else None, fmt.datefmt if fmt else None))


def _send_step_lines_to_prefect() -> None:
    """Each step's verdict line (``glassdesk.steps``) belongs on its task run in the UI. The supervisor
    gives every process ``PREFECT_LOGGING_EXTRA_LOGGERS=glassdesk``, which puts Prefect's API handler
    on the ``glassdesk`` logger; a worker started without it still sends these lines."""
    from prefect.logging.handlers import APILogHandler

    steps = logging.getLogger("glassdesk.steps")
    if steps.getEffectiveLevel() > logging.INFO:
        steps.setLevel(logging.INFO)  # the lines are the run's record in the UI, whatever the console shows
    chain = (steps, logging.getLogger("glassdesk"))
    if not any(isinstance(h, APILogHandler) for logger in chain for h in logger.handlers):
        steps.addHandler(APILogHandler())
