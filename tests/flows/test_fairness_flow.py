"""The fairness-audit flow on a real local Prefect server, and `glassdesk audit fairness` against the
live (published) policy: both read the policy the turn routes by, archive the report under
var/fairness/ and leave an audit-log entry (the flow) or exit non-zero (the command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.fairness import fairness_audit
from policies import DEFAULT_POLICY_PATH
from runtime.compose import open_container
from runtime.fairness_cli import fairness_app
from services.fairness import FairnessAuditFailed, latest_report, report_dir
from services.settings import Settings
from understanding import ensure_demo_model

# the de-CH variant asks for a person, the others ask for an order: biased on purpose
BIASED = (
    'id,language,text\nx,de,"{dialect:Wo ist meine Bestellung 10023?|Ich will sofort mit einem Menschen '
    'sprechen!|Wo ist meine Bestellung 10023?} {name}"\n'
)
AGE_ONLY = 'id,language,text\ny,en,"Hi, where is my order 10023? I am {age}."\n'


@pytest.fixture
def audit_env(prefect_harness: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GLASSDESK_REDIS_URL", redis_url)
    monkeypatch.setenv("GLASSDESK_PREFECT_API_URL", prefect_harness)
    monkeypatch.delenv("GLASSDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("GLASSDESK_FAIRNESS_MIN_IDENTICAL", raising=False)
    settings = Settings()
    ensure_demo_model(settings.model_dir / "intents" / "live")
    return settings


async def _publish_default(settings: Settings) -> int:
    async with open_container(settings) as s:
        stored = await s.policies.publish(
            DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), author="test", message="live for the audit"
        )
        return stored.version


async def _audit_entries(settings: Settings) -> list[dict]:  # type: ignore[type-arg]
    async with open_container(settings) as s:
        return [e for e in await s.audit.entries() if e["action"].startswith("fairness.audit")]


async def test_the_flow_audits_the_live_policy_archives_and_records(audit_env: Settings, tmp_path: Path) -> None:
    version = await _publish_default(audit_env)
    templates = tmp_path / "age.csv"
    templates.write_text(AGE_ONLY, encoding="utf-8")
    result = await fairness_audit(templates_file=str(templates), min_identical=0.0)
    assert result["passed"] and result["policy_version"] == str(version) and result["evaluations"] == 3
    report = latest_report(report_dir(audit_env))
    assert report is not None and Path(result["report"]).parent == report_dir(audit_env)
    assert report.policy_version == str(version) and report.templates == 1
    (entry,) = await _audit_entries(audit_env)
    assert entry["action"] == "fairness.audit.passed" and entry["object_id"] == Path(result["report"]).name


async def test_a_failing_audit_fails_the_flow_run_and_is_recorded(audit_env: Settings, tmp_path: Path) -> None:
    templates = tmp_path / "biased.csv"
    templates.write_text(BIASED, encoding="utf-8")
    with pytest.raises(FairnessAuditFailed, match="dialect"):
        await fairness_audit(templates_file=str(templates))
    report = latest_report(report_dir(audit_env))
    assert report is not None and not report.passed and [d.value for d in report.failed_dimensions] == ["dialect"]
    assert report.policy_version == "default"  # nothing published: the shipped default, and nothing was published
    (entry,) = await _audit_entries(audit_env)
    assert entry["action"] == "fairness.audit.failed" and entry["data"]["failed_dimensions"] == ["dialect"]


def test_the_command_reads_the_live_policy(audit_env: Settings, tmp_path: Path) -> None:
    import asyncio

    version = asyncio.run(_publish_default(audit_env))
    templates = tmp_path / "biased.csv"
    templates.write_text(BIASED, encoding="utf-8")
    result = CliRunner().invoke(fairness_app, ["fairness", "--templates", str(templates), "--json"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["policy_version"] == str(version)
    assert "dialect" in result.stderr
