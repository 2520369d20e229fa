"""A model promoted by the retrain flow is served by a running worker without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.bootstrap import open_services
from flows.deps import build_turn_deps
from flows.settings import Settings
from understanding import LabelledExample, TrainConfig, read_metadata, save_model, train_intent_model


async def test_a_promoted_model_replaces_the_loaded_one(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(var_dir=tmp_path, redis_url=redis_url)
    async with open_services(settings) as services:
        deps = await build_turn_deps(services)
        before = deps.intent_model.metadata.model_id
        assert await deps.refresh_intent_model() is False  # nothing changed: keep the loaded model

        examples = [LabelledExample(text=f"where is my parcel number {i}", label="order_status") for i in range(6)]
        examples += [LabelledExample(text=f"I want a person please {i}", label="wants_human") for i in range(6)]
        candidate = train_intent_model(examples, TrainConfig(use_embeddings=False))
        live = settings.model_dir / "intents" / "live"
        staged = tmp_path / "staged"
        save_model(candidate, staged)
        shutil.rmtree(live)
        shutil.move(str(staged), str(live))

        assert await deps.refresh_intent_model() is True
        assert deps.intent_model.metadata.model_id == read_metadata(live).model_id != before
        assert set(deps.intent_model.labels) >= {"order_status", "wants_human"}
