"""A standalone `glassdesk worker` (not started by `glassdesk run`, so no PREFECT_* variables in its
environment) runs its turns on the Prefect server of the settings, with the login of the settings: a
real `prefect server start` that answers 401 without it, a real worker process, real Redis, and a copy
of the demo var/ (back office, knowledge index, intent model, policy) so the turn runs to its end on its
first delivery (without a back office it failed until it went to a person, after 40 s of redeliveries)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conversation import ChannelKind, InboundMessage, PhoneAddress
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings
from tests.support.prefect_server import free_port

GLASSDESK = str(Path(sys.executable).parent / "glassdesk")


async def _ingest(settings: Settings) -> str:
    async with open_container(settings) as s:
        result = await Ingestor(s).accept(
            InboundMessage(
                channel=ChannelKind.SMS,
                external_id="SM" + "e4" * 16,
                address=PhoneAddress(number="+4915100001111"),
                text="Wo ist mein Paket?",
            )
        )
        return result.message.id


def _completed_turn(settings: Settings, auth: tuple[str, str], message_id: str) -> list[dict[str, object]]:
    """The turn's own task run (``turn[<message id>]``, in the worker's open flow run), once Completed."""
    body = {"task_runs": {"name": {"like_": f"turn[{message_id}]"}}}
    r = httpx.post(settings.prefect_api_url + "/task_runs/filter", json=body, auth=auth, timeout=10)
    assert r.status_code == 200, r.text[:300]
    return [run for run in r.json() if run["state_type"] == "COMPLETED" and run["name"] == f"turn[{message_id}]"]


async def test_a_standalone_worker_sends_the_login_of_the_settings(
    secured_prefect: Settings,
    demo_var: Path,
    redis_url: str,
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    shutil.copytree(demo_var, var)
    login = secured_prefect.var_dir / "prefect-auth.key"  # the login the server was started with
    shutil.copy2(login, var / login.name)
    settings = secured_prefect.model_copy(update={"redis_url": redis_url, "var_dir": var})
    assert settings.prefect_auth_string() == secured_prefect.prefect_auth_string()
    user, _, password = settings.prefect_auth_string().partition(":")
    assert httpx.post(settings.prefect_api_url + "/flow_runs/filter", json={}, timeout=10).status_code == 401
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),  # no profile pointing anywhere
        "GLASSDESK_VAR_DIR": str(settings.var_dir),  # where the generated login is
        "GLASSDESK_PREFECT_API_URL": settings.prefect_api_url,
        "GLASSDESK_REDIS_URL": redis_url,
        # a reply goes to loopback (nothing listens there: the send fails and stays pending), never to Twilio
        "GLASSDESK_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
    }
    env.pop("GLASSDESK_PREFECT_AUTH", None)
    log_path = tmp_path / "worker.log"
    message_id = await _ingest(settings)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [GLASSDESK, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while not _completed_turn(settings, (user, password), message_id):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "no completed turn task run: " + log_path.read_text()[-3000:]
            time.sleep(1)
        written = log_path.read_text()
        assert "401" not in written and "Unauthorized" not in written, written[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
