"""The ops flows on a real local Prefect server: retrain intents from feedback, re-ingest the knowledge
base, the `feedback` and `ops` commands, `glassdesk ops serve` and prefect.yaml."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.ops import INTENT_CORRECTION, reingest_knowledge, retrain_intents
from knowledge import KnowledgeBase, default_articles_dir
from runtime.cli import app
from runtime.compose import open_container
from services.intent_source import live_intent_model_dir
from services.settings import Settings
from understanding import demo_data_path, load_examples, load_model, read_metadata
from understanding.demo import DEMO_TRAIN_CSV

ROOT = Path(__file__).resolve().parents[2]
GLASSDESK = str(Path(sys.executable).parent / "glassdesk")

# phrasings the demo model gets wrong on its evaluation set ("how's it going", "Wo ist mein Paket gerade?")
GOOD = [
    ("how is it going today", "small_talk"),
    ("how's it going with you", "small_talk"),
    ("Wie geht's dir heute?", "small_talk"),
    ("wie gehts so", "small_talk"),
    ("where is my parcel right now", "order_status"),
    ("Wo ist mein Paket im Moment?", "order_status"),
]
# whole intents relabelled: what a careless or hostile annotator would submit
POISON_MAP = {
    "order_status": "complaint",
    "delivery_problem": "small_talk",
    "claim_report": "invoice_question",
    "return_request": "coverage_question",
}


@pytest.fixture
def ops_env(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The flows and commands build `Settings()` themselves: point them at a private var dir."""
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GLASSDESK_REDIS_URL", redis_url)
    monkeypatch.delenv("GLASSDESK_DATABASE_URL", raising=False)
    return Settings()


@pytest.fixture
def ops_settings(prefect_harness: str, ops_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GLASSDESK_PREFECT_API_URL", prefect_harness)
    return Settings()


async def _add_corrections(settings: Settings, pairs: list[tuple[str, str]]) -> list[str]:
    async with open_container(settings) as s:
        return [await s.feedback.add(INTENT_CORRECTION, actor="agent", label=label, text=text) for text, label in pairs]


async def _state(settings: Settings) -> tuple[list[dict], list[dict]]:
    async with open_container(settings) as s:
        feedback = await s.feedback.list(kind=INTENT_CORRECTION)
        audit = [e for e in await s.audit.entries() if e["action"].startswith("intents.retrain")]
    return feedback, audit


async def test_retrain_promotes_a_correct_new_phrasing_and_marks_the_feedback_used(ops_settings: Settings) -> None:
    live = live_intent_model_dir(ops_settings.model_dir)
    before = read_metadata(live)
    ids = await _add_corrections(ops_settings, GOOD)

    summary = await retrain_intents()

    assert summary["decision"] == "promoted", summary["reason"]
    after = read_metadata(live)
    assert before.model_id == summary["live_model_id_before"]
    assert after.model_id == summary["live_model_id_after"] != before.model_id
    assert after.n_examples == before.n_examples + len(GOOD)
    assert summary["after"]["accuracy"] > summary["before"]["accuracy"]
    model = load_model(live)
    for text, label in GOOD:
        assert model.predict(text).intent == label
    feedback, audit = await _state(ops_settings)
    assert {r["id"]: r["used_in_model"] for r in feedback} == {i: after.model_id for i in ids}
    assert [e["action"] for e in audit] == ["intents.retrain.promoted"]
    entry = audit[0]
    assert entry["object_id"] == after.model_id and entry["actor"] == "ops"
    assert entry["data"]["before"]["accuracy"] == summary["before"]["accuracy"]
    assert entry["data"]["after"]["accuracy"] == summary["after"]["accuracy"]
    assert sorted(entry["data"]["feedback_ids"]) == sorted(ids)
    logged = json.dumps(entry["data"]) + json.dumps(summary)
    assert not any(text in logged for text, _ in GOOD), "no example text in the audit log or the flow result"

    again = await retrain_intents()
    assert again["decision"] == "nothing_to_do"
    assert read_metadata(live).model_id == after.model_id
    assert len((await _state(ops_settings))[1]) == 1, "a run with nothing to learn writes no audit entry"


async def test_retrain_refuses_poisoned_feedback_and_keeps_the_live_model(ops_settings: Settings) -> None:
    live = live_intent_model_dir(ops_settings.model_dir)
    before = read_metadata(live)
    base = load_examples(demo_data_path(DEMO_TRAIN_CSV))
    poison = [(e.text, POISON_MAP[e.label]) for e in base if e.label in POISON_MAP]
    assert len(poison) > 100
    ids = await _add_corrections(ops_settings, poison)

    summary = await retrain_intents()

    assert summary["decision"] == "refused", summary["reason"]
    assert summary["after"]["accuracy"] < summary["before"]["accuracy"]
    kept = read_metadata(live)
    assert (kept.model_id, kept.data_hash, kept.n_examples) == (before.model_id, before.data_hash, before.n_examples)
    assert summary["live_model_id_after"] == before.model_id
    feedback, audit = await _state(ops_settings)
    assert len(feedback) == len(ids) and all(r["used_in_model"] is None for r in feedback)
    assert [e["action"] for e in audit] == ["intents.retrain.refused"]
    assert audit[0]["data"]["before"]["accuracy"] == summary["before"]["accuracy"]
    assert audit[0]["data"]["after"]["accuracy"] == summary["after"]["accuracy"]
    assert audit[0]["object_id"] == summary["candidate_model_id"] != before.model_id


async def test_reingest_rebuilds_the_index_and_counts_the_articles(ops_settings: Settings, tmp_path: Path) -> None:
    shipped = [p for p in default_articles_dir().rglob("*.md") if p.name.lower() != "readme.md"]
    summary = await reingest_knowledge()
    assert summary["articles"] == len(shipped) > 2

    folder = tmp_path / "two-articles"
    folder.mkdir()
    for path in shipped[:2]:
        shutil.copy(path, folder / path.name)
    summary = await reingest_knowledge(articles_dir=str(folder))
    assert summary["articles"] == 2
    index = ops_settings.var_dir / "kb-index"
    assert len(KnowledgeBase.load(index).articles) == 2
    async with open_container(ops_settings) as s:
        assert [e["action"] for e in await s.audit.entries()].count("kb.reingested") == 2


def test_feedback_add_rejects_an_unknown_label(ops_env: Settings) -> None:
    result = CliRunner().invoke(app, ["feedback", "add", "--text", "where is my stuff", "--label", "refund_plz"])
    assert result.exit_code == 2
    assert "'refund_plz' is not an intent of the live model" in result.stderr
    assert "order_status" in result.stderr, "the message lists the intents that are allowed"
    assert CliRunner().invoke(app, ["feedback", "list", "--json"]).stdout.strip() == "[]"


def test_feedback_add_stores_redacted_text(ops_env: Settings) -> None:
    email = "anna.schmidt@example.com"
    result = CliRunner().invoke(
        app,
        [
            "feedback",
            "add",
            "--text",
            f"Bitte neue Adresse eintragen, Mail an {email}",
            "--label",
            "contract_change",
            "--actor",
            "agent-7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert email not in result.output
    listed = CliRunner().invoke(app, ["feedback", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["kind"], row["label"], row["actor"], row["used_in_model"]) == (
        INTENT_CORRECTION,
        "contract_change",
        "agent-7",
        None,
    )
    assert email not in row["text"] and "example.com" not in row["text"]
    assert row["text"].startswith("Bitte neue Adresse eintragen") and "[EMAIL" in row["text"]


def test_prefect_yaml_entrypoints_name_real_flows() -> None:
    from prefect import Flow
    from prefect.cli.deploy._models import PrefectYamlModel

    raw = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    PrefectYamlModel.model_validate(raw)  # what `prefect deploy` validates the file with
    deployments = raw["deployments"]
    assert {d["entrypoint"] for d in deployments} == {
        "flows/ops.py:retrain_intents",
        "flows/ops.py:reingest_knowledge",
        "flows/retention.py:purge_expired",
        "flows/fairness.py:fairness_audit",
    }
    for d in deployments:
        path, name = d["entrypoint"].split(":")
        assert (ROOT / path).is_file()
        flow_obj = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)
        assert isinstance(flow_obj, Flow), d["entrypoint"]
        assert set(d.get("parameters") or {}) <= set(flow_obj.parameters.properties)
        assert d["work_pool"]["name"] == "glassdesk"
    schedules = {d["entrypoint"]: d.get("schedules") or [] for d in deployments}
    assert [s["cron"] for s in schedules["flows/ops.py:retrain_intents"]] == ["30 3 * * *"]
    assert schedules["flows/ops.py:reingest_knowledge"] == []
    # the scheduled retention run purges; Run from the UI (the flow's default) is a dry run
    (retention,) = schedules["flows/retention.py:purge_expired"]
    assert (retention["cron"], retention["timezone"], retention["parameters"]) == (
        "15 4 * * *",
        "Europe/Berlin",
        {"dry_run": False},
    )
    assert [(s["cron"], s["timezone"]) for s in schedules["flows/fairness.py:fairness_audit"]] == [
        ("0 5 * * 1", "Europe/Berlin")
    ]
    # the same crons as `glassdesk ops serve`
    from flows.fairness import FAIRNESS_CRON
    from flows.retention import RETENTION_CRON

    assert (retention["cron"], schedules["flows/fairness.py:fairness_audit"][0]["cron"]) == (
        RETENTION_CRON,
        FAIRNESS_CRON,
    )
    assert all(s["timezone"] == Settings.model_fields["timezone"].default for v in schedules.values() for s in v)


def _start_ops_serve(settings: Settings, api_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "GLASSDESK_VAR_DIR": str(settings.var_dir),
        "GLASSDESK_REDIS_URL": settings.redis_url or "",
    }
    return subprocess.Popen(
        [GLASSDESK, "ops", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def _deployment(name: str, deadline: float):  # type: ignore[no-untyped-def]
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        while True:
            try:
                return await client.read_deployment_by_name(name)
            except ObjectNotFound:
                assert time.monotonic() < deadline, f"{name} was not served in time"
                await asyncio.sleep(0.5)


async def _forget_deployments(*names: str) -> None:
    """Another test may have served them already: wait for this process's, not those."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        for name in names:
            try:
                await client.delete_deployment((await client.read_deployment_by_name(name)).id)
            except ObjectNotFound:
                pass


def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"`glassdesk ops serve` ignored signal {sig}") from None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_ops_serve_serves_both_flows_runs_them_on_demand_and_stops_on_a_signal(
    ops_settings: Settings, prefect_harness: str, tmp_path: Path, sig: int
) -> None:
    from prefect.deployments import run_deployment

    await _forget_deployments("retrain-intents/daily", "reingest-knowledge/on-demand")
    proc = _start_ops_serve(ops_settings, prefect_harness, tmp_path)
    try:
        deadline = time.monotonic() + 90
        retrain = await _deployment("retrain-intents/daily", deadline)
        kb = await _deployment("reingest-knowledge/on-demand", deadline)
        assert [s.schedule.cron for s in retrain.schedules] == ["30 3 * * *"]
        assert kb.schedules == []
        if sig == signal.SIGTERM:  # one on-demand run through the served deployment (as the UI's Run does)
            run = await run_deployment("reingest-knowledge/on-demand", timeout=90)
            assert run.state is not None and run.state.is_completed(), run.state
            assert (ops_settings.var_dir / "kb-index").is_dir()
        assert proc.poll() is None
    finally:
        code = _stop(proc, sig) if proc.poll() is None else proc.returncode
    assert code == 0
