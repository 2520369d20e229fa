"""`glassdesk ops serve`: serve the ops flows to the Prefect server as deployments.

| deployment                   | schedule (settings.timezone)        | what it does                          |
|------------------------------|-------------------------------------|---------------------------------------|
| retrain-intents/daily        | 03:30 daily                         | retrain the intent model (flows/ops)  |
| reingest-knowledge/on-demand | none (Run in the UI)                | rebuild the knowledge index           |
| retention-purge/daily        | 04:15 daily, ``dry_run: false``     | purge what is past its retention      |
| fairness-audit/weekly        | 05:00 on Mondays                    | the counterfactual fairness audit     |

Run by hand from the UI, the retention deployment keeps its default ``dry_run: true`` and only counts;
its schedule purges. prefect.yaml declares the same four for a shared server and a work pool."""

from __future__ import annotations

import signal
import time
from typing import cast

from flows.fairness import FAIRNESS_CRON, fairness_audit
from flows.ops import RETRAIN_CRON, reingest_knowledge, retrain_intents
from flows.retention import RETENTION_CRON, purge_expired
from runtime.prefect_shutdown import drain_prefect_services
from services.settings import Settings

__all__ = ["serve_ops"]


def serve_ops(settings: Settings, *, api_url: str, wait_s: float = 300.0) -> int:
    """Serve the ops flows as deployments (`retrain-intents/daily`, `reingest-knowledge/on-demand`,
    `retention-purge/daily`, `fairness-audit/weekly`) until SIGINT or SIGTERM. Waits for the Prefect API first, so it can start beside the server. Talks to it
    with the basic auth of ``Settings.prefect_auth_string()``."""
    import httpx
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron
    from prefect.settings import (
        PREFECT_API_AUTH_STRING,
        PREFECT_API_URL,
        PREFECT_RUNNER_POLL_FREQUENCY,
        temporary_settings,
    )
    from prefect.types.entrypoint import EntrypointType

    def _term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM acts as Ctrl-C until the runner installs its own handler; SIGINT gets Python's default
    # back, as a child started from a non-interactive shell may inherit it ignored
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, _term),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
    }
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(api_url.rstrip("/") + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                print(f"ops: the Prefect API at {api_url} did not answer within {wait_s:.0f} s", flush=True)
                return 1
            time.sleep(0.5)
        updates = {
            PREFECT_API_URL: api_url,
            PREFECT_RUNNER_POLL_FREQUENCY: 2,
            PREFECT_API_AUTH_STRING: settings.prefect_auth_string(),
        }
        with temporary_settings(updates=updates):
            # to_deployment is sync-compatible: called outside an event loop it returns the deployment
            serve(
                cast(
                    RunnerDeployment,
                    retrain_intents.to_deployment(
                        name="daily",
                        schedules=[Cron(RETRAIN_CRON, timezone=settings.timezone)],
                        paused=False,
                        concurrency_limit=1,
                        tags=["glassdesk", "ops"],
                        entrypoint_type=EntrypointType.MODULE_PATH,
                        description="Retrain the intent model from staff corrections (daily; Run for now).",
                    ),
                ),
                cast(
                    RunnerDeployment,
                    reingest_knowledge.to_deployment(
                        name="on-demand",
                        concurrency_limit=1,
                        tags=["glassdesk", "ops"],
                        entrypoint_type=EntrypointType.MODULE_PATH,
                        description="Rebuild the knowledge-base index from the articles folder.",
                    ),
                ),
                cast(
                    RunnerDeployment,
                    purge_expired.to_deployment(
                        name="daily",
                        schedules=[Cron(RETENTION_CRON, timezone=settings.timezone, parameters={"dry_run": False})],
                        paused=False,
                        concurrency_limit=1,
                        tags=["glassdesk", "gdpr"],
                        entrypoint_type=EntrypointType.MODULE_PATH,
                        description="Purge what is past its retention period (nightly); Run: a dry run that counts.",
                    ),
                ),
                cast(
                    RunnerDeployment,
                    fairness_audit.to_deployment(
                        name="weekly",
                        schedules=[Cron(FAIRNESS_CRON, timezone=settings.timezone)],
                        paused=False,
                        concurrency_limit=1,
                        tags=["glassdesk", "ops"],
                        entrypoint_type=EntrypointType.MODULE_PATH,
                        description="Audit routing for unequal treatment over counterfactual pairs (weekly).",
                    ),
                ),
                print_starting_message=False,
            )
    except KeyboardInterrupt:
        pass
    finally:
        drain_prefect_services()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
