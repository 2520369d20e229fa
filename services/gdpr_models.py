"""Intent models trained on a person's corrections: after erasure none may remain.

A model's vocabulary is stored as text (``model.json``), so words of a corrected message live on in
every model trained after the correction was made. :func:`retrain_without` retrains the live model
on the demo data plus the remaining corrections (``understanding.retrain``, the retrain flow's own
training, promoted whatever its score: the old model must go) and deletes every other model directory
(candidates, replaced models) created at or after the subject's first correction. Models created before
it cannot contain it and stay, so a rollback to them remains possible."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from understanding import LabelledExample, ModelArtifactError, demo_data_path, read_metadata, retrain
from understanding.demo import DEMO_EVAL_CSV, DEMO_TRAIN_CSV

__all__ = ["ModelErasure", "retrain_without", "tainted_models", "RETRAIN_LOCK"]

RETRAIN_LOCK = "ops:retrain-intents"  # the lock flows.ops.retrain_intents holds: one training at a time


@dataclass(frozen=True, slots=True)
class ModelErasure:
    retrained_model_id: str | None
    removed_dirs: int
    seconds: float


def tainted_models(model_root: Path, since: datetime) -> list[Path]:
    """Intent model directories created at or after ``since`` (they may hold a correction of then)."""
    intents = model_root / "intents"
    dirs = [intents / "live", intents / "live.incoming"]
    candidates = intents / "candidates"
    if candidates.is_dir():
        dirs += sorted(p for p in candidates.iterdir() if p.is_dir())
    out = []
    for d in dirs:
        try:
            created = read_metadata(d).created_at
        except ModelArtifactError:
            continue
        if created.tzinfo is None or created >= since:
            out.append(d)
    return out


def retrain_without(
    model_root: Path, *, since: datetime | None, examples: Sequence[LabelledExample], dry_run: bool = False
) -> ModelErasure:
    """Replace every model trained after ``since`` (blocking: minutes at most; run it in a thread).
    ``examples``: the corrections that remain (the subject's are already left out)."""
    if since is None:
        return ModelErasure(None, 0, 0.0)
    started = time.monotonic()
    tainted = tainted_models(model_root, since)
    live = model_root / "intents" / "live"
    if dry_run:
        return ModelErasure(None, len(tainted), 0.0)
    new_id = None
    if live in tainted:
        report = retrain(
            base_data=demo_data_path(DEMO_TRAIN_CSV),
            feedback=list(examples),
            eval_data=demo_data_path(DEMO_EVAL_CSV),
            live_model_dir=live,
            out_root=model_root / "intents" / "candidates",
            min_gain=-1.0,
        )
        new_id = report.candidate_model_id
        keep = {live, report.candidate_dir}
        tainted = [d for d in tainted_models(model_root, since) if d not in keep]
    for d in tainted:
        if d != live:
            shutil.rmtree(d, ignore_errors=True)
    return ModelErasure(new_id, len(tainted), round(time.monotonic() - started, 3))
