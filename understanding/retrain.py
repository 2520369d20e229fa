"""Learning from feedback: train a candidate on base data + corrected examples, compare it with the
live model on a fixed evaluation set, and promote it only if it is not worse."""

from __future__ import annotations

import enum
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from understanding.artifact import MODEL_FILE, load_model, save_model
from understanding.dataset import LabelledExample, load_examples
from understanding.errors import ModelArtifactError
from understanding.evaluation import EvalReport, evaluate
from understanding.intents import DEFAULT_ENCODER_VARIANT, TrainConfig, train_intent_model

__all__ = ["RetrainDecision", "RetrainReport", "retrain"]


@enum.unique
class RetrainDecision(enum.StrEnum):
    PROMOTED = "promoted"
    REFUSED = "refused"


class RetrainReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: RetrainDecision
    reason: str
    metric: str
    live_model_id: str | None
    candidate_model_id: str
    candidate_dir: Path
    live_model_dir: Path
    replaced_model_dir: Path | None
    n_base: int
    n_feedback: int
    live: EvalReport | None
    candidate: EvalReport


def retrain(
    *,
    base_data: Path,
    feedback: Sequence[LabelledExample],
    eval_data: Path,
    live_model_dir: Path,
    out_root: Path,
    oos_label: str | None = "out_of_scope",
    config: TrainConfig | None = None,
    min_gain: float = 0.0,
    text_col: str = "text",
    label_col: str = "label",
) -> RetrainReport:
    """Candidate goes to `out_root/<model_id>`. It replaces `live_model_dir` only when its eval
    accuracy >= live accuracy + `min_gain`; the replaced model moves to `out_root/replaced-<id>`."""
    base = load_examples(base_data, text_col=text_col, label_col=label_col)
    evaluation = load_examples(eval_data, text_col=text_col, label_col=label_col)
    if oos_label is not None and not any(e.label == oos_label for e in evaluation):
        oos_label = None
    live_dir, out_root = Path(live_model_dir), Path(out_root)
    live = None
    if (live_dir / MODEL_FILE).is_file():
        try:
            live = load_model(live_dir)
        except ModelArtifactError:
            live = None  # an unreadable live model is no reason to keep it
    if config is None:
        # retrain with the live model's encoder, not the default one
        config = (
            TrainConfig(use_embeddings=True, encoder_variant=live.metadata.encoder_variant or DEFAULT_ENCODER_VARIANT)
            if live is not None and live.metadata.use_embeddings
            else TrainConfig(use_embeddings=False)
        )
    candidate = train_intent_model([*base, *feedback], config)
    candidate_dir = out_root / candidate.metadata.model_id
    save_model(candidate, candidate_dir)
    candidate_report = evaluate(candidate, evaluation, oos_label=oos_label)
    live_report = evaluate(live, evaluation, oos_label=oos_label) if live else None
    metric = "accuracy"
    common = dict(
        metric=metric,
        candidate_model_id=candidate.metadata.model_id,
        candidate_dir=candidate_dir,
        live_model_dir=live_dir,
        n_base=len(base),
        n_feedback=len(feedback),
        live=live_report,
        candidate=candidate_report,
        live_model_id=live.metadata.model_id if live else None,
    )
    if live_report is not None and candidate_report.accuracy < live_report.accuracy + min_gain:
        return RetrainReport(
            decision=RetrainDecision.REFUSED,
            replaced_model_dir=None,
            **common,
            reason=(
                f"candidate accuracy {candidate_report.accuracy:.4f} < live {live_report.accuracy:.4f}"
                f" + min_gain {min_gain:.4f} on {eval_data}; live model kept"
            ),
        )
    replaced = _promote(candidate_dir, live_dir, out_root, live.metadata.model_id if live else None)
    reason = (
        "no readable live model; candidate installed"
        if live_report is None
        else f"candidate accuracy {candidate_report.accuracy:.4f} >= live {live_report.accuracy:.4f}"
        f" + min_gain {min_gain:.4f} on {eval_data}"
    )
    return RetrainReport(decision=RetrainDecision.PROMOTED, replaced_model_dir=replaced, reason=reason, **common)


def _promote(candidate_dir: Path, live_dir: Path, out_root: Path, live_id: str | None) -> Path | None:
    staging = live_dir.with_name(live_dir.name + ".incoming")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(candidate_dir, staging)
    replaced = None
    if live_dir.exists():
        replaced = out_root / f"replaced-{live_id or 'unreadable'}"
        shutil.rmtree(replaced, ignore_errors=True)
        shutil.move(str(live_dir), str(replaced))
    os.replace(staging, live_dir)
    return replaced
