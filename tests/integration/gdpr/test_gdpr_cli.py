"""`glassdesk gdpr` (runtime/gdpr_cli.py) end to end: the record of processing follows the configuration,
export, a dry-run erasure that changes nothing, the two-person rule, the erasure, the retention dry run."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conversation import ChannelKind, InboundMessage, PhoneAddress
from conversation.rediskit import EmbeddedRedis
from runtime.compose import open_container
from runtime.gdpr_cli import gdpr_app
from services.ingest import Ingestor
from services.settings import Settings
from tests.integration.gdpr.conftest import PrefectServer


@pytest.fixture
def env(demo_template: Path, prefect_server: PrefectServer, tmp_path: Path) -> Iterator[dict[str, str]]:
    var = tmp_path / "var"
    shutil.copytree(demo_template, var)
    redis = EmbeddedRedis(tmp_path / "redis")
    url = redis.start()
    try:
        yield {
            "GLASSDESK_VAR_DIR": str(var),
            "GLASSDESK_REDIS_URL": url,
            "GLASSDESK_PREFECT_API_URL": prefect_server.api_url,
            "GLASSDESK_RELAY_PORT": "9",
            "GLASSDESK_TWILIO_API_BASE": "http://127.0.0.1:9",
        }
    finally:
        redis.stop()


def _contact(env: dict[str, str]) -> str:
    settings = Settings(var_dir=Path(env["GLASSDESK_VAR_DIR"]), redis_url=env["GLASSDESK_REDIS_URL"])

    async def go() -> str:
        async with open_container(settings) as services:
            res = await Ingestor(services).accept(
                InboundMessage(
                    channel=ChannelKind.SMS,
                    external_id="SM" + "9c" * 16,
                    address=PhoneAddress(number="+4915790000081"),
                    text="Bitte meine Daten loeschen",
                )
            )
            return res.conversation.contact_id

    return asyncio.run(go())


def test_gdpr_commands(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(gdpr_app, ["ropa", "--json"], env=env)
    assert r.exit_code == 0, r.output
    ropa = json.loads(r.output)
    names = [x["name"] for x in ropa["recipients"]]
    assert not any(n.startswith("LLM provider") for n in names) and "development SMS sink (var/sms)" in names
    r = runner.invoke(
        gdpr_app,
        ["ropa"],
        env={**env, "GLASSDESK_LLM_PROVIDER": "openai", "GLASSDESK_TWILIO_AUTH_TOKEN": "a-real-token"},
    )
    assert r.exit_code == 0 and "LLM provider: openai" in r.output and "Twilio Inc. (SMS)" in r.output

    contact = _contact(env)
    r = runner.invoke(gdpr_app, ["export", "--contact", contact], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["identities"][0]["address"] == "+4915790000081"
    r = runner.invoke(gdpr_app, ["export", "--contact", contact, "--out", str(tmp_path / "out")], env=env)
    assert r.exit_code == 0 and (tmp_path / "out" / "export.json").is_file()

    r = runner.invoke(
        gdpr_app,
        ["erase", "--contact", contact, "--requested-by", "anna", "--approved-by", "bert", "--dry-run"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    assert plan["receipt"] is None and plan["counts"]["sql.messages"] == 1 and plan["holds"] == []
    r = runner.invoke(
        gdpr_app, ["erase", "--contact", contact, "--requested-by", "anna", "--approved-by", "anna"], env=env
    )
    assert r.exit_code == 2 and "second admin" in r.output
    r = runner.invoke(
        gdpr_app, ["erase", "--contact", contact, "--requested-by", "anna", "--approved-by", "bert"], env=env
    )
    assert r.exit_code == 0, r.output
    done = json.loads(r.output)["receipt"]
    assert done["status"] == "completed" and done["counts"]["sql.contacts"] == 1
    assert done["counts"]["notice.failed"] == 1  # the SMS provider here is unreachable: counted, not hidden
    r = runner.invoke(gdpr_app, ["export", "--contact", contact], env=env)
    assert r.exit_code == 2 and "does not exist" in r.output

    r = runner.invoke(gdpr_app, ["retention", "--dry-run", "--now", "2099-01-01T00:00:00+00:00"], env=env)
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["dry_run"] is True and report["counts"]["receipts"]["receipts"] == 1
    r = runner.invoke(gdpr_app, ["receipts"], env=env)
    assert r.exit_code == 0 and contact not in r.output and json.loads(r.output)[0]["status"] == "completed"


def test_the_retention_flow_runs_on_prefect(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.retention import purge_expired

    contact = _contact(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    planned = asyncio.run(purge_expired(dry_run=True, now="2099-01-01T00:00:00+00:00"))
    assert planned["dry_run"] is True and planned["counts"]["messages"]["conversations"] == 1
    done = asyncio.run(purge_expired(dry_run=False, now="2099-01-01T00:00:00+00:00"))
    assert done["counts"]["messages"]["conversations"] == 1 and done["counts"]["contacts"]["contacts"] == 1
    again = asyncio.run(purge_expired(dry_run=True, now="2099-01-01T00:00:00+00:00"))
    assert again["counts"]["messages"]["conversations"] == 0
    assert contact not in json.dumps(done)
