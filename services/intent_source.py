"""The intent model a worker serves, swapped when the retrain flow promotes a new one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from understanding import IntentModel, ModelArtifactError, ensure_demo_model, load_model, read_metadata

__all__ = ["IntentModelSource", "live_intent_model_dir"]


def live_intent_model_dir(model_root: Path) -> Path:
    """The model directory workers serve. Trains the demo model only when there is no readable
    model: a model promoted by `retrain_intents` must not be replaced by the demo."""
    live = model_root / "intents" / "live"
    try:
        read_metadata(live)
    except ModelArtifactError:
        return Path(ensure_demo_model(live))
    return live


class IntentModelSource:
    """Holds the loaded model; :meth:`refresh` swaps in a newly promoted one."""

    def __init__(self, live_dir: Path, model: IntentModel) -> None:
        self._live = live_dir
        self.current = model

    @classmethod
    async def open(cls, model_root: Path) -> IntentModelSource:
        live = await asyncio.to_thread(live_intent_model_dir, model_root)
        return cls(live, await asyncio.to_thread(load_model, live))

    async def refresh(self) -> bool:
        """Reads only the small metadata file when nothing changed. True when a new model was loaded."""
        try:
            meta = await asyncio.to_thread(read_metadata, self._live)
        except ModelArtifactError:
            return False  # mid-swap or missing: keep serving the loaded model
        if meta.model_id == self.current.metadata.model_id:
            return False
        self.current = await asyncio.to_thread(load_model, self._live)
        return True
