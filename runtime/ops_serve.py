"""`glassdesk ops serve`: serve the ops flows to the Prefect server as deployments."""

from __future__ import annotations

import signal
import time
from typing import cast

from flows.ops import RETRAIN_CRON, reingest_knowledge, retrain_intents
from services.settings import Settings

__all__ = ["serve_ops"]


def serve_ops(settings: Settings, *, api_url: str, wait_s: float = 300.0) -> int:
    """Serve both flows as deployments (`retrain-intents/daily`, `reingest-knowledge/on-demand`) until
    SIGINT or SIGTERM. Waits for the Prefect API first, so it can start beside the server. Talks to it
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
                print_starting_message=False,
            )
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
