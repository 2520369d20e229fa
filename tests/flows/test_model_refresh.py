"""A model promoted by the retrain flow is served by a running worker without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

from runtime.compose import build_turn_kit, open_container
from services.settings import Settings
from understanding import LabelledExample, TrainConfig, read_metadata, save_model, train_intent_model


async def test_a_promoted_model_replaces_the_loaded_one(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(var_dir=tmp_path, redis_url=redis_url)
    async with open_container(settings) as services:
        intents = (await build_turn_kit(services)).intents
        before = intents.current.metadata.model_id
        assert await intents.refresh() is False  # nothing changed: keep the loaded model

        examples = [LabelledExample(text=f"where is my parcel number {i}", label="order_status") for i in range(6)]
        examples += [LabelledExample(text=f"I want a person please {i}", label="wants_human") for i in range(6)]
        candidate = train_intent_model(examples, TrainConfig(use_embeddings=False))
        live = settings.model_dir / "intents" / "live"
        staged = tmp_path / "staged"
        save_model(candidate, staged)
        shutil.rmtree(live)
        shutil.move(str(staged), str(live))

        assert await intents.refresh() is True
        assert intents.current.metadata.model_id == read_metadata(live).model_id != before
        assert set(intents.current.labels) >= {"order_status", "wants_human"}
