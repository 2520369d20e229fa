"""The Prefect server Glassdesk starts asks for a login (basic auth on its API, and so on its UI), and
Glassdesk's own clients send it: the Prefect client of the worker and the ops flows, the /ops links and
the health check. A real `prefect server start` with the environment of ``runtime.supervisor``
(``secured_prefect`` in tests/flows/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prefect import flow

from runtime.compose import open_container
from runtime.supervisor import prefect_env
from services.ops_metrics import TURN_FLOW, PrefectLinks
from services.settings import Settings
from web.health import check_health


def test_the_server_and_its_clients_get_one_generated_login(secured_prefect: Settings) -> None:
    env = prefect_env(secured_prefect)
    auth = (secured_prefect.var_dir / "prefect-auth.key").read_text().strip()
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == env["PREFECT_API_AUTH_STRING"] == auth
    user, _, password = auth.partition(":")
    assert user == "glassdesk" and len(password) >= 32


def test_without_the_login_the_api_answers_401(secured_prefect: Settings) -> None:
    api = secured_prefect.prefect_api_url
    anonymous = httpx.post(api + "/flows/filter", json={}, timeout=10)
    assert anonymous.status_code == 401
    wrong = httpx.post(api + "/flows/filter", json={}, auth=("glassdesk", "not-the-password"), timeout=10)
    assert wrong.status_code == 401
    user, _, password = secured_prefect.prefect_auth_string().partition(":")
    assert httpx.post(api + "/flows/filter", json={}, auth=(user, password), timeout=10).status_code == 200
    # the UI asks for the login: its settings announce basic auth, and everything it shows comes from the API
    ui = httpx.get(api.removesuffix("/api") + "/ui-settings", timeout=10)
    assert ui.status_code == 200 and ui.json()["auth"] == "BASIC"


@flow(name="auth-probe")
async def _probe(x: int) -> int:
    return x + 1


async def test_glassdesks_prefect_client_runs_flows_with_the_login(secured_prefect: Settings) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    updates = {
        PREFECT_API_URL: secured_prefect.prefect_api_url,
        PREFECT_API_AUTH_STRING: secured_prefect.prefect_auth_string(),
    }
    with temporary_settings(updates=updates):
        assert await _probe(41) == 42  # as the worker runs turns: a flow run recorded through the API
        async with get_client() as client:
            runs = await client.read_flow_runs()
            assert any(r.name and r.state is not None and r.state.is_completed() for r in runs)
            turns_flow = await client.create_flow_from_name(TURN_FLOW)
    links = PrefectLinks(secured_prefect)
    assert await links.flow_id() == str(turns_flow)  # the /ops links resolve the flow through the API


async def test_the_ops_links_and_the_health_check_fail_with_the_wrong_login(
    secured_prefect: Settings, tmp_path: Path, redis_url: str
) -> None:
    from pydantic import SecretStr

    wrong = secured_prefect.model_copy(update={"prefect_auth": SecretStr("glassdesk:wrong")})
    assert await PrefectLinks(wrong).flow_id() is None
    right = secured_prefect.model_copy(
        update={
            "var_dir": tmp_path,
            "redis_url": redis_url,
            "prefect_auth": SecretStr(secured_prefect.prefect_auth_string()),
        }
    )
    async with open_container(right) as services:
        _ok, body = await check_health(services)
        assert body["checks"]["prefect"]["ok"] is True, body["checks"]["prefect"]
    async with open_container(right.model_copy(update={"prefect_auth": SecretStr("glassdesk:wrong")})) as services:
        _ok, body = await check_health(services)
        assert body["checks"]["prefect"]["ok"] is False
        assert "refuses our credentials" in body["checks"]["prefect"]["error"]
