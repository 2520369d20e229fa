"""Stop Prefect's background workers (events, API logs) before the process exits.

They are daemon threads that write to stdout. Left running into interpreter shutdown, one that holds
stdout's lock then aborts the process (SIGABRT, "could not acquire lock ... at interpreter
shutdown"), as `glassdesk ops serve` did now and then on Ctrl-C. Draining flushes what they hold
and ends them first."""

from __future__ import annotations

__all__ = ["drain_prefect_services"]


def drain_prefect_services(timeout_s: float = 5.0) -> None:
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker
    except ImportError:  # pragma: no cover - prefect is a dependency
        return
    for service in (EventsWorker, APILogWorker):
        try:
            service.drain_all(timeout=timeout_s, at_exit=True)
        except Exception:  # noqa: BLE001 - best effort at exit: nothing is left to report it to
            pass
