"""No personal data crosses the LLM boundary: generated customer messages go through the real Redactor
and then through the real drafting path (`draft_with_llm`) into a chat model that records every prompt.

Two recording models: one without tool calling (draft_with_llm falls back to asking for JSON) and one
with tool calling (draft_with_llm uses `with_structured_output(LlmAnswer)`), so both ways of reaching
a model are checked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field

from knowledge import KnowledgeBase
from knowledge.drafting import DraftMode, draft_with_llm
from tests.support.pii_corpus import UNIT_SEED, Sample, generate
from understanding import Redactor, restore

ANSWER = {"answer": "Danke, wir kümmern uns darum.", "cited_sources": []}


class RecordingChatModel(BaseChatModel):
    """Records the messages of every call and answers with a fixed JSON reply."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self._reply(kwargs))])

    def _reply(self, _kwargs: dict[str, Any]) -> AIMessage:
        return AIMessage(content=json.dumps(ANSWER))


class RecordingToolChatModel(RecordingChatModel):
    """Also supports tool calling, so `with_structured_output` works; answers with a tool call."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), tool_choice=tool_choice, **kwargs)

    def _reply(self, kwargs: dict[str, Any]) -> AIMessage:
        assert kwargs.get("tools"), "with_structured_output should have bound the answer schema as a tool"
        return AIMessage(content="", tool_calls=[{"name": "LlmAnswer", "args": ANSWER, "id": "call-1"}])


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return generate(UNIT_SEED + 1, 80)


@pytest.mark.parametrize("model_class", [RecordingChatModel, RecordingToolChatModel])
async def test_no_gold_pii_reaches_the_model(
    kb: KnowledgeBase, samples: list[Sample], model_class: type[RecordingChatModel]
) -> None:
    redactor = Redactor()
    model = model_class()
    hits = {
        lang: kb.search(query, language=lang, k=3)
        for lang, query in (("de", "Rechnung Zahlung"), ("en", "invoice payment"))
    }
    assert hits["de"] and hits["en"]
    mappings: list[dict[str, str]] = []
    for sample in samples:
        redacted = redactor.redact(sample.text)
        mappings.append(redacted.mapping)
        draft = await draft_with_llm(
            model, "general", language=sample.language, customer_message=redacted.text, hits=hits[sample.language]
        )
        assert draft is not None and draft.mode is DraftMode.LLM

    assert len(model.prompts) == len(samples)  # every message reached the model, none was refused
    # The system message carries the knowledge-base context, which may hold a common surname ("Koch")
    # by itself: a value counts as leaked there only if the same context without the customer has none.
    baseline = RecordingChatModel()
    for lang in ("de", "en"):
        await draft_with_llm(baseline, "general", language=lang, customer_message="-", hits=hits[lang])
    context_only = "\n".join(str(p[0].content) for p in baseline.prompts)
    for sample, prompt, mapping in zip(samples, model.prompts, mappings, strict=True):
        human, system = str(prompt[-1].content), str(prompt[0].content)
        assert [g.value for g in sample.gold if g.value in human] == []
        assert [g.value for g in sample.gold if g.value in system and g.value not in context_only] == []
        # The customer text did arrive, as placeholders that restore to the original message.
        assert restore(human, mapping) == sample.text
        assert mapping or not sample.gold
    all_gold = {g.value for s in samples for g in s.gold}
    assert len(all_gold) > 100  # the set is not trivially small
