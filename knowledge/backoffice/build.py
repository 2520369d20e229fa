"""Building the routed back office from a :class:`ConnectorsConfig`: one adapter and one circuit breaker per
connector, each lookup routed to its connector. The composition root calls this once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from knowledge.backoffice.breaker import CircuitBreaker
from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.chromium import CHROMIUM
from knowledge.backoffice.connectors import ConnectorsConfig, ProvidedConnector
from knowledge.backoffice.guard import GuardedBackOffice
from knowledge.backoffice.port import BackOffice
from knowledge.backoffice.rest import RestBackOffice
from knowledge.backoffice.rest_config import RestConnector
from knowledge.backoffice.router import RoutedBackOffice

__all__ = ["build_backoffice"]


def build_backoffice(
    config: ConnectorsConfig,
    *,
    secrets: Mapping[str, str],
    provided: Mapping[str, BackOffice],
    screenshots: Path,
    chromium: Path = CHROMIUM,
    today: Callable[[], dt.date] = dt.date.today,
) -> RoutedBackOffice:
    """The back office the lookups use. ``provided`` holds the adapters of ``kind: provided`` connectors by
    name; RPA failure screenshots go under ``screenshots/<connector>-...``. Close it with ``aclose()`` (it
    closes the REST clients and browsers it made, not the provided adapters)."""
    missing_secrets = sorted({ref.name for ref in config.secrets if not secrets.get(ref.name)})
    if missing_secrets:
        raise ValueError(
            f"{config.source}: secret(s) {', '.join(missing_secrets)} not provided; map them from "
            "Settings into the secrets passed to build_backoffice"
        )
    for name, entry in config.connectors.items():
        if isinstance(entry.spec, ProvidedConnector) and name not in provided:
            raise ValueError(
                f"{config.source}: connector '{name}' is 'kind: provided' but no adapter was passed "
                f"under that name (passed: {', '.join(provided) or 'none'})"
            )
    guards: dict[str, GuardedBackOffice] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    for name, entry in config.connectors.items():
        spec = entry.spec
        adapter: BackOffice
        budget: float | None = None
        if isinstance(spec, RestConnector):
            rest = RestBackOffice(spec, secrets=secrets, today=today)
            closers.append(rest.aclose)
            adapter = rest
        elif isinstance(spec, ProvidedConnector):
            adapter, budget = provided[name], spec.budget_seconds
        else:  # playwright is imported only when a robot is configured
            from knowledge.backoffice.browser_pool import BrowserPool
            from knowledge.backoffice.rpa import RpaBackOffice

            rpa = RpaBackOffice(
                spec, secrets=secrets, pool=BrowserPool(spec.pool, executable=chromium), screenshots=screenshots
            )
            closers.append(rpa.aclose)
            adapter = rpa
        guards[name] = GuardedBackOffice(name, adapter, CircuitBreaker(name, entry.breaker), budget_seconds=budget)
    routes: dict[LookupName, BackOffice] = {lookup: guards[name] for lookup, name in config.routes.items()}
    return RoutedBackOffice(routes, connectors=tuple(guards.values()), closers=tuple(closers))
