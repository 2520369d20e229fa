"""Everything a turn needs, built once per worker by :func:`build_turn_deps` (composition root)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.bootstrap import Services

__all__ = ["TurnDeps", "build_turn_deps", "PolicySource"]


class PolicySource:
    """The live policy: the newest published version, parsed once per version. The store is asked at
    most every ``recheck_s`` seconds, so a publish or rollback takes effect within that time."""

    def __init__(self, services: Services, *, recheck_s: float = 2.0) -> None:
        self._s = services
        self._cached: tuple[int, Any] | None = None
        self._checked_at = float("-inf")
        self._recheck_s = recheck_s

    async def current(self) -> Any:
        from policies import DEFAULT_POLICY_PATH, load_policy

        if self._cached is not None and time.monotonic() - self._checked_at < self._recheck_s:
            return self._cached[1]
        stored = await self._s.policies.active()
        if stored is None:
            text = DEFAULT_POLICY_PATH.read_text()
            stored = await self._s.policies.publish(text, author="system", message="default policy")
        if self._cached is None or self._cached[0] != stored.version:
            policy = load_policy(stored.text, source=f"policy v{stored.version}", version=str(stored.version))
            self._cached = (stored.version, policy)
        self._checked_at = time.monotonic()
        return self._cached[1]


@dataclass
class TurnDeps:
    services: Services
    intent_model: Any
    language_detector: Any
    redactor: Any
    kb: Any
    lookups: Any
    policy: PolicySource
    guards: Any
    chat_model: Any | None
    delivery: Any

    async def refresh_intent_model(self) -> bool:
        """Swap in a newly promoted intent model (the retrain flow replaces the live directory).
        Reads only the small metadata file when nothing changed. True when a new model was loaded."""
        from understanding import ModelArtifactError, load_model, read_metadata

        live = self.services.settings.model_dir / "intents" / "live"
        try:
            meta = await asyncio.to_thread(read_metadata, live)
        except ModelArtifactError:
            return False  # mid-swap or missing: keep serving the loaded model
        if meta.model_id == getattr(self.intent_model.metadata, "model_id", None):
            return False
        self.intent_model = await asyncio.to_thread(load_model, live)
        return True


async def build_turn_deps(services: Services) -> TurnDeps:
    from knowledge import KnowledgeBase, ingest_directory
    from knowledge.backoffice import Lookups, SqlBackOffice
    from policies import GuardConfig
    from understanding import LanguageDetector, Redactor, load_model

    from flows.delivery import Deliverer
    from flows.ops import live_intent_model_dir

    settings = services.settings
    # A model promoted by the retrain flow is kept; the demo model is trained only when none exists.
    model_dir = await asyncio.to_thread(live_intent_model_dir, settings)
    intent_model = await asyncio.to_thread(load_model, Path(model_dir))
    kb_dir = settings.var_dir / "kb-index"
    try:
        kb = await asyncio.to_thread(KnowledgeBase.load, kb_dir, embedder=settings.embeddings)
    except Exception:  # noqa: BLE001 - no index yet: build it from the shipped articles
        from knowledge import default_articles_dir

        kb = await asyncio.to_thread(ingest_directory, default_articles_dir(), index_dir=kb_dir,
                                     embedder=settings.embeddings)
    backoffice = SqlBackOffice.from_path(settings.var_dir / "backoffice.db")
    chat_model = None
    if settings.llm_provider or settings.llm_base_url:
        from knowledge.drafting import build_chat_model

        chat_model = build_chat_model(
            provider=settings.llm_provider or "openai",
            model=settings.llm_model or "gpt-4o-mini",
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout=settings.llm_timeout_s,
        )
    return TurnDeps(
        services=services,
        intent_model=intent_model,
        language_detector=LanguageDetector(),
        redactor=Redactor(),
        kb=kb,
        lookups=Lookups(backoffice),
        policy=PolicySource(services),
        guards=GuardConfig(refund_limit=settings.refund_limit),
        chat_model=chat_model,
        delivery=services.extras.setdefault("deliverer", Deliverer(services)),
    )
