"""The drafting port: one interface over the embedded composer and the LangChain LLM path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from langchain_core.language_models.chat_models import BaseChatModel

from knowledge.drafting.composer import compose
from knowledge.drafting.llm import draft_with_llm
from knowledge.drafting.models import Draft, DraftIntent, LookupResult
from knowledge.retrieval import Hit

__all__ = ["Drafter", "ComposerDrafter", "LlmDrafter"]


class Drafter(Protocol):
    """Drafts a grounded reply from knowledge hits and lookups; ``None`` means no source."""

    @property
    def name(self) -> str:
        """The model or composer name recorded in the decision record."""
        ...

    async def draft(
        self,
        intent: DraftIntent | str,
        *,
        language: str,
        customer_message: str,
        hits: Sequence[Hit],
        lookups: Sequence[LookupResult],
    ) -> Draft | None: ...


class ComposerDrafter:
    """The embedded, template-based composer: no LLM, always grounded in its sources."""

    @property
    def name(self) -> str:
        return "composer"

    async def draft(
        self,
        intent: DraftIntent | str,
        *,
        language: str,
        customer_message: str,
        hits: Sequence[Hit],
        lookups: Sequence[LookupResult],
    ) -> Draft | None:
        return compose(intent, language, customer_message=customer_message, hits=hits, lookups=lookups)


class LlmDrafter:
    """A LangChain chat model; every draft is grounding-checked by ``draft_with_llm``."""

    def __init__(self, model: BaseChatModel) -> None:
        self._model = model

    @property
    def name(self) -> str:
        return str(getattr(self._model, "model_name", None) or getattr(self._model, "model", None) or "llm")

    async def draft(
        self,
        intent: DraftIntent | str,
        *,
        language: str,
        customer_message: str,
        hits: Sequence[Hit],
        lookups: Sequence[LookupResult],
    ) -> Draft | None:
        return await draft_with_llm(
            self._model, intent, language=language, customer_message=customer_message, hits=hits, lookups=lookups
        )
