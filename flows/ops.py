"""Operations flows: retrain the intent model from staff corrections, rebuild the knowledge-base index.

Both run by hand (`glassdesk ops retrain`, `glassdesk ops reingest-kb`), from the Prefect UI
(`glassdesk ops serve`, started by `make run`) or from a `process` work pool (see prefect.yaml).

No personal data reaches Prefect: flow parameters are paths at most, task results are not persisted,
and logs, summaries and audit entries carry ids, counts and metrics, never example text (which is
redacted before it is stored anyway)."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from conversation import FeedbackKind
from services.settings import Settings

__all__ = [
    "INTENT_CORRECTION",
    "RETRAIN_CRON",
    "reingest_knowledge",
    "retrain_intents",
]

INTENT_CORRECTION = FeedbackKind.INTENT_CORRECTION.value  # the feedback kind this flow learns from
RETRAIN_CRON = "30 3 * * *"  # daily, at night in settings.timezone
RETRAIN_LOCK = "ops:retrain-intents"
ACTOR = "ops"

_SERVICES: contextvars.ContextVar[Any] = contextvars.ContextVar("glassdesk_ops_services")


def _task(fn: Any, *, retries: int = 0) -> Any:
    return task(
        fn,
        name=fn.__name__.lstrip("_").replace("_", "-"),
        retries=retries,
        retry_delay_seconds=1 if retries else 0,
        cache_policy=NONE,
        persist_result=False,
        log_prints=False,
    )


# -- retrain ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corrections:
    """All intent corrections: the new ones and those the live model already learned from."""

    new_ids: tuple[str, ...]
    examples: tuple[Any, ...]  # understanding.LabelledExample; in memory only


async def _read_corrections() -> Corrections:
    from understanding import LabelledExample

    rows = await _SERVICES.get().feedback.list(kind=INTENT_CORRECTION)
    usable = [r for r in rows if (r.get("label") or "").strip() and (r.get("text") or "").strip()]
    return Corrections(
        new_ids=tuple(r["id"] for r in usable if r["used_in_model"] is None),
        examples=tuple(LabelledExample(text=r["text"], label=r["label"]) for r in usable),
    )


async def _ensure_live_model() -> Path:
    from services.intent_source import live_intent_model_dir

    return await asyncio.to_thread(live_intent_model_dir, _SERVICES.get().settings.model_dir)


async def _train_and_compare(live_dir: Path, corrections: Corrections) -> Any:
    from understanding import demo_data_path, retrain
    from understanding.demo import DEMO_EVAL_CSV, DEMO_TRAIN_CSV

    settings: Settings = _SERVICES.get().settings
    return await asyncio.to_thread(
        retrain,
        base_data=demo_data_path(DEMO_TRAIN_CSV),
        feedback=list(corrections.examples),
        eval_data=demo_data_path(DEMO_EVAL_CSV),
        live_model_dir=live_dir,
        out_root=settings.model_dir / "intents" / "candidates",
    )


async def _mark_used(ids: tuple[str, ...], model_id: str) -> None:
    await _SERVICES.get().feedback.mark_used(list(ids), model_id=model_id)


async def _record_retrain(summary: dict[str, Any], feedback_ids: tuple[str, ...]) -> None:
    await _SERVICES.get().audit.record(
        actor=ACTOR,
        action=f"intents.retrain.{summary['decision']}",
        object_id=summary["candidate_model_id"],
        data={**summary, "feedback_ids": list(feedback_ids)},
    )


read_corrections = _task(_read_corrections, retries=2)
ensure_live_model = _task(_ensure_live_model)
train_and_compare = _task(_train_and_compare)
mark_used = _task(_mark_used, retries=2)
record_retrain = _task(_record_retrain, retries=2)


def _metrics(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    return report.model_dump(
        include={"accuracy", "macro_f1", "n", "rejected_rate", "in_scope_accuracy", "oos_recall", "oos_precision"}
    )


def _summary(report: Any, corrections: Corrections) -> dict[str, Any]:
    from understanding import RetrainDecision

    promoted = report.decision is RetrainDecision.PROMOTED
    return {
        "decision": report.decision.value,
        "reason": report.reason,
        "metric": report.metric,
        "n_feedback_new": len(corrections.new_ids),
        "n_feedback_total": report.n_feedback,
        "n_base": report.n_base,
        "live_model_id_before": report.live_model_id,
        "live_model_id_after": report.candidate_model_id if promoted else report.live_model_id,
        "candidate_model_id": report.candidate_model_id,
        "before": _metrics(report.live),
        "after": _metrics(report.candidate),
    }


@flow(name="retrain-intents", persist_result=False, log_prints=False)
async def retrain_intents() -> dict[str, Any]:
    """Learn from new intent corrections: train a candidate on the demo data plus every correction,
    promote it only if it is not worse on the fixed evaluation set, and audit the decision."""
    from conversation.errors import LockNotAcquired
    from runtime.compose import open_container
    from understanding import RetrainDecision

    log = get_run_logger()
    async with open_container(Settings()) as services:
        _SERVICES.set(services)
        try:
            async with services.locks.hold(RETRAIN_LOCK, timeout_s=1800, wait_s=1):
                corrections = await read_corrections()
                if not corrections.new_ids:
                    log.info("no new intent corrections; nothing to do")
                    return {
                        "decision": "nothing_to_do",
                        "reason": "no new intent_correction feedback",
                        "n_feedback_new": 0,
                        "n_feedback_total": len(corrections.examples),
                    }
                live_dir = await ensure_live_model()
                report = await train_and_compare(live_dir, corrections)
                summary = _summary(report, corrections)
                if report.decision is RetrainDecision.PROMOTED:
                    await mark_used(corrections.new_ids, report.candidate_model_id)
                await record_retrain(summary, corrections.new_ids)
        except LockNotAcquired:
            log.info("another retrain is running; skipped")
            return {"decision": "skipped", "reason": "another retrain is running"}
    log.info(
        "retrain %s: %s new corrections, model %s -> %s",
        summary["decision"],
        summary["n_feedback_new"],
        summary["live_model_id_before"],
        summary["live_model_id_after"],
    )
    return summary


# -- knowledge base ---------------------------------------------------------------------------------


async def _rebuild_index(articles_dir: Path) -> dict[str, Any]:
    from knowledge import ingest_directory

    settings: Settings = _SERVICES.get().settings
    index_dir = settings.var_dir / "kb-index"
    kb = await asyncio.to_thread(ingest_directory, articles_dir, index_dir=index_dir, embedder=settings.embeddings)
    by_language: dict[str, int] = {}
    for article in kb.articles:
        by_language[str(article.language)] = by_language.get(str(article.language), 0) + 1
    return {
        "articles": len(kb.articles),
        "by_language": by_language,
        "hybrid": kb.hybrid,
        "articles_dir": str(articles_dir),
        "index_dir": str(index_dir),
    }


async def _record_reingest(summary: dict[str, Any]) -> None:
    await _SERVICES.get().audit.record(actor=ACTOR, action="kb.reingested", object_id=None, data=summary)


rebuild_index = _task(_rebuild_index)
record_reingest = _task(_record_reingest, retries=2)


@flow(name="reingest-knowledge", persist_result=False, log_prints=False)
async def reingest_knowledge(articles_dir: str | None = None) -> dict[str, Any]:
    """Validate every article under `articles_dir` (default: the shipped articles) and rebuild the
    search index under var/kb-index."""
    from knowledge import default_articles_dir
    from runtime.compose import open_container

    source = Path(articles_dir) if articles_dir else default_articles_dir()
    async with open_container(Settings()) as services:
        _SERVICES.set(services)
        summary = await rebuild_index(source)
        await record_reingest(summary)
    get_run_logger().info("re-ingested %s articles into %s", summary["articles"], summary["index_dir"])
    return summary
