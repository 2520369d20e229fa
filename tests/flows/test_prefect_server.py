"""The pinned FastAPI and Prefect's server agree: the API calls the Prefect CLI makes are accepted.

(FastAPI 0.151+ refuses the JSON `"limit": null` that `prefect deploy` / `prefect deployment ls` send;
0.155 breaks the server's start. requirements.lock pins the last version that works.)"""

from __future__ import annotations

import httpx
from prefect.client.orchestration import get_client


def test_filters_with_a_null_limit_are_accepted(prefect_harness: str) -> None:
    for path in ("/deployments/filter", "/work_pools/filter", "/flow_runs/filter"):
        r = httpx.post(prefect_harness.rstrip("/") + path, json={"limit": None}, timeout=10)
        assert r.status_code == 200, (path, r.text[:300])


async def test_the_prefect_client_lists_deployments_and_pools(prefect_harness: str) -> None:
    async with get_client() as client:
        assert isinstance(await client.read_deployments(), list)
        assert isinstance(await client.read_work_pools(), list)


async def test_the_scheduler_creates_runs_for_a_scheduled_deployment(prefect_harness: str) -> None:
    """The daily retrain only happens if Prefect's scheduler can write scheduled runs (it could not
    with SQLAlchemy 2.1: "Can't evaluate bulk DML statement")."""
    import asyncio

    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.ops import retrain_intents

    deployment = await retrain_intents.to_deployment(name="schedule-check", cron="0 3 * * *")
    deployment_id = await deployment.apply()
    async with get_client() as client:
        async with asyncio.timeout(90):
            while True:
                runs = await client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
                )
                if runs:
                    break
                await asyncio.sleep(1)
        assert all(r.state is not None and r.state.is_scheduled() for r in runs)
        await client.delete_deployment(deployment_id)
