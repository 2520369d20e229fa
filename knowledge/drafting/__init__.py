"""Grounded drafting: the embedded composer (no LLM) and the LangChain LLM path, both checked."""

from knowledge.drafting.composer import compose, detect_risk
from knowledge.drafting.context import render_context
from knowledge.drafting.drafter import ComposerDrafter, Drafter, LlmDrafter
from knowledge.drafting.grounding import GroundingReport, check_grounding
from knowledge.drafting.llm import DRAFT_PROMPT, DraftingFailed, LlmAnswer, build_chat_model, draft_with_llm
from knowledge.drafting.models import Draft, DraftIntent, DraftMode, LookupResult

__all__ = [
    "ComposerDrafter",
    "Draft",
    "Drafter",
    "LlmDrafter",
    "DraftIntent",
    "DraftMode",
    "LookupResult",
    "compose",
    "detect_risk",
    "render_context",
    "GroundingReport",
    "check_grounding",
    "LlmAnswer",
    "DraftingFailed",
    "DRAFT_PROMPT",
    "build_chat_model",
    "draft_with_llm",
]
