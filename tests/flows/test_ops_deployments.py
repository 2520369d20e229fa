"""`glassdesk ops serve` (what `make run` starts under the supervisor) serves the retention and fairness
flows beside the two ops flows, on a real local Prefect server: the deployments exist with their
schedules in the settings' time zone, and a retention run started through its deployment is a dry run
whose counts show in its logs, with no personal data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conversation import ChannelKind, InboundMessage, PhoneAddress
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings

GLASSDESK = str(Path(sys.executable).parent / "glassdesk")
PHONE = "+4915199887766"
TEXT = "Retention canary Quittenbaum 4711"
DEPLOYMENTS = (
    "retrain-intents/daily",
    "reingest-knowledge/on-demand",
    "retention-purge/daily",
    "fairness-audit/weekly",
)


@pytest.fixture
def served_settings(tmp_path: Path, redis_url: str, prefect_harness: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GLASSDESK_REDIS_URL", redis_url)
    monkeypatch.setenv("GLASSDESK_PREFECT_API_URL", prefect_harness)
    monkeypatch.delenv("GLASSDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("GLASSDESK_TIMEZONE", raising=False)
    return Settings()


async def _seed_conversation(settings: Settings) -> str:
    async with open_container(settings) as s:
        result = await Ingestor(s).accept(
            InboundMessage(
                channel=ChannelKind.SMS,
                external_id="SM" + "d7" * 16,
                address=PhoneAddress(number=PHONE),
                text=TEXT,
            )
        )
        return result.conversation.id


async def _conversation_exists(settings: Settings, conversation_id: str) -> bool:
    from conversation.errors import NotFound

    async with open_container(settings) as s:
        try:
            await s.messages.get_conversation(conversation_id)
        except NotFound:
            return False
        return True


async def _forget(*names: str) -> None:
    """Another test may have served them already: wait for this process's, not those."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        for name in names:
            try:
                await client.delete_deployment((await client.read_deployment_by_name(name)).id)
            except ObjectNotFound:
                pass


async def _served(name: str, deadline: float):  # type: ignore[no-untyped-def]
    import asyncio

    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        while True:
            try:
                return await client.read_deployment_by_name(name)
            except ObjectNotFound:
                assert time.monotonic() < deadline, f"{name} was not served in time"
                await asyncio.sleep(0.5)


async def _run_logs(flow_run_id: object, deadline: float, *, containing: str) -> list[str]:
    """The run's log lines, once the one ``containing`` arrived (the runner ships them after the run)."""
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        while True:
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            messages = [log.message for log in logs]
            if any(containing in m for m in messages):
                return messages
            assert time.monotonic() < deadline, f"no log line with {containing!r}: {messages}"
            await asyncio.sleep(0.5)


def _start_ops_serve(settings: Settings, api_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    return subprocess.Popen(
        [GLASSDESK, "ops", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> int:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError("`glassdesk ops serve` ignored SIGTERM") from None


async def test_ops_serve_serves_retention_and_fairness_on_schedule_and_a_retention_run_counts(
    served_settings: Settings, prefect_harness: str, tmp_path: Path
) -> None:
    from prefect.deployments import run_deployment

    conversation_id = await _seed_conversation(served_settings)
    await _forget(*DEPLOYMENTS)
    proc = _start_ops_serve(served_settings, prefect_harness, tmp_path)
    try:
        deadline = time.monotonic() + 120
        served = {name: await _served(name, deadline) for name in DEPLOYMENTS}
        assert served_settings.timezone == "Europe/Berlin"  # the settings' default, used by every schedule

        def schedules(name: str) -> list[tuple[str, str | None, bool, dict[str, object]]]:
            return [
                (s.schedule.cron, s.schedule.timezone, s.active, dict(s.parameters or {}))
                for s in served[name].schedules
            ]

        assert schedules("retention-purge/daily") == [("15 4 * * *", "Europe/Berlin", True, {"dry_run": False})]
        assert schedules("fairness-audit/weekly") == [("0 5 * * 1", "Europe/Berlin", True, {})]
        assert schedules("retrain-intents/daily") == [("30 3 * * *", "Europe/Berlin", True, {})]
        assert served["reingest-knowledge/on-demand"].schedules == []
        assert not served["retention-purge/daily"].paused and not served["fairness-audit/weekly"].paused
        # Run from the UI keeps the flow's default: a dry run
        assert served["retention-purge/daily"].parameters.get("dry_run", True) is True

        # a run through the deployment, as of a time past every period: it counts what would go, deletes nothing
        run = await run_deployment(
            "retention-purge/daily", parameters={"now": "2099-01-01T00:00:00+00:00"}, timeout=150
        )
        assert run.state is not None and run.state.is_completed(), run.state
        assert run.parameters == {"now": "2099-01-01T00:00:00+00:00"}  # a time, no personal data
        messages = await _run_logs(run.id, time.monotonic() + 60, containing="retention dry run as of 2099-01-01")
        summary = next(m for m in messages if "retention dry run as of" in m)
        assert "'conversations': 1" in summary and "'contacts': 1" in summary, summary
        everything = "\n".join(messages)
        assert PHONE not in everything and PHONE[1:] not in everything and "Quittenbaum" not in everything
        assert await _conversation_exists(served_settings, conversation_id)  # a dry run deleted nothing
        assert proc.poll() is None
    finally:
        code = _stop(proc) if proc.poll() is None else proc.returncode
    assert code == 0
