"""LLM drafting through any LangChain chat model, followed by the grounding check.

The prompt holds only redacted context. Customer text always travels as the ``customer_message``
template variable, never formatted into the template string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

import httpx
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model

from knowledge.article import Language
from knowledge.drafting.context import customer_hits, render_context, source_ids
from knowledge.drafting.grounding import check_grounding
from knowledge.drafting.models import Draft, DraftIntent, DraftMode, LookupResult
from knowledge.errors import KnowledgeError, UnredactedInput
from knowledge.retrieval import Hit

__all__ = ["LlmAnswer", "DraftingFailed", "answer_schema", "build_chat_model", "draft_with_llm", "DRAFT_PROMPT"]

_OPENAI_COMPATIBLE = {"openai", "openai_compatible", "openai-compatible", "local"}

_SYSTEM = """You draft replies for the customer service of Glassdesk Demo Shop and Glassdesk Demo \
Versicherung. The customer is talking about: {intent}.
Rules:
- Answer ONLY with facts from the CONTEXT below. Do not add numbers, dates, amounts, ids or promises \
that are not in the CONTEXT. Never promise refunds, payments, compensation or claim decisions.
- Write in {language_name}. Be brief and friendly.
- Put the ids of the context blocks you used (the text in [brackets], e.g. kb:... or lookup:...) \
in cited_sources.
- Placeholders such as [EMAIL_1] or [PHONE_1] stand for redacted data; keep them as they are.
- If the CONTEXT does not answer the message, return an empty answer.
Reply as a JSON object: {{"answer": "...", "cited_sources": ["..."]}}

CONTEXT:
{context}"""

DRAFT_PROMPT = ChatPromptTemplate.from_messages([("system", _SYSTEM), ("human", "{customer_message}")])

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d[\d\s()/-]{7,}\d")


class LlmAnswer(BaseModel):
    """The structured output asked of the model."""

    answer: str = Field(description="the reply to the customer, or an empty string if the context has no answer")
    cited_sources: list[str] = Field(default_factory=list, description="ids of the context blocks used")


class DraftingFailed(KnowledgeError):
    """The LLM call failed or returned something unusable. Hand the turn to a human.

    ``transient`` says whether trying again may help: the provider could not be reached, timed out,
    was overloaded or answered 5xx/429. A model that answered with something unusable (no JSON, the
    wrong schema, a refused request) fails the same way again: not transient, hand off at once."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


_TRANSIENT_NAMES = {
    "APIConnectionError",
    "APITimeoutError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "ConnectError",
    "ReadTimeout",
    "ConnectTimeout",
}


def _is_transient(exc: BaseException) -> bool:
    """Whether a provider error may pass on its own (network, timeout, overload), following the cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | TimeoutError | ConnectionError):
            return True
        if type(seen).__name__ in _TRANSIENT_NAMES:
            return True
        status = getattr(seen, "status_code", None)
        if isinstance(status, int) and (status == 429 or status >= 500):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def answer_schema(known_sources: Sequence[str]) -> type[LlmAnswer]:
    """The structured output for one draft: ``cited_sources`` may only name the context's own block ids
    (an enum in the JSON schema, so a provider with constrained decoding cannot invent one)."""
    ids = tuple(dict.fromkeys(known_sources))
    if not ids:
        return LlmAnswer
    source = Literal[ids]  # type: ignore[valid-type]
    model = create_model(
        "LlmAnswer",
        __base__=LlmAnswer,
        cited_sources=(list[source], Field(default_factory=list, description="ids of the context blocks used")),
    )
    return model


def build_chat_model(
    *,
    provider: str,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 30.0,
    http_client: httpx.AsyncClient | None = None,
) -> BaseChatModel:
    """A LangChain chat model from settings. ``provider`` "openai" (or "openai_compatible"/"local",
    with ``base_url``) builds ``ChatOpenAI``; any other provider goes through ``init_chat_model``.

    The OpenAI model gets its own ``httpx.AsyncClient`` (or ``http_client``) instead of LangChain's
    process-wide cached one, which breaks once the event loop that first used it has closed. Build
    the model in (or for) the event loop that will use it."""
    if provider in _OPENAI_COMPATIBLE:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=SecretStr(api_key or "not-needed"),
            timeout=timeout,
            max_retries=1,
            temperature=0,
            http_async_client=http_client or httpx.AsyncClient(timeout=timeout),
        )
    from langchain.chat_models import init_chat_model

    # Passed on to the provider's chat model class; init_chat_model takes them as ``**kwargs: Any``
    # (typed as object here, mypy would match them against its own configurable_fields parameter).
    extra: dict[str, Any] = {"timeout": timeout}
    if base_url:
        extra["base_url"] = base_url
    if api_key:
        extra["api_key"] = api_key
    try:
        chat = init_chat_model(model, model_provider=provider, temperature=0, **extra)
    except (ImportError, ValueError) as exc:
        raise DraftingFailed(
            f"cannot build chat model provider={provider!r} model={model!r}: {exc}. Fix: install the "
            "provider's langchain package or use provider 'openai' with an OpenAI-compatible base_url"
        ) from exc
    if not isinstance(chat, BaseChatModel):  # a named model without configurable fields is never deferred
        raise DraftingFailed(
            f"init_chat_model gave a {type(chat).__name__} for provider={provider!r} model={model!r}, not a chat model"
        )
    return chat


def _guard(where: str, text: str) -> None:
    if _EMAIL.search(text):
        raise UnredactedInput(where, "email address")
    if _PHONE.search(text):
        raise UnredactedInput(where, "phone number")


def _parse_json_answer(content: object) -> LlmAnswer:
    text = content if isinstance(content, str) else json.dumps(content) if isinstance(content, dict) else str(content)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise DraftingFailed("the model did not return a JSON object with 'answer' and 'cited_sources'")
    try:
        return LlmAnswer.model_validate_json(text[start : end + 1])
    except ValidationError as exc:
        raise DraftingFailed(f"the model's JSON does not match the answer schema: {exc}") from exc


async def draft_with_llm(
    model: BaseChatModel,
    intent: DraftIntent | str,
    *,
    language: Language | str,
    customer_message: str,
    hits: Sequence[Hit] = (),
    lookups: Sequence[LookupResult] = (),
) -> Draft | None:
    """Draft with ``model`` from KB hits and lookups, then check grounding.

    ``customer_message`` must already be redacted (raw emails/phone numbers raise ``UnredactedInput``).
    Returns ``None`` when there is no source or the model found no answer in the context. A draft
    with ``grounded=False`` lists its problems and must go to an agent, never out.
    """
    intent = DraftIntent(intent)
    lang = Language(language)
    usable = customer_hits(hits)
    if not usable and not lookups:
        return None
    context = render_context(usable, lookups, language=lang)
    _guard("customer_message", customer_message)
    _guard("context", context)
    known = source_ids(usable, lookups)
    variables = {
        "intent": intent.value,
        "language_name": "German" if lang is Language.DE else "English",
        "context": context,
        "customer_message": customer_message,
    }
    schema = answer_schema(sorted(known))
    try:
        structured = model.with_structured_output(schema)
    except NotImplementedError:
        structured = None
    try:
        if structured is not None:
            result = await (DRAFT_PROMPT | structured).ainvoke(variables)
            answer = result if isinstance(result, LlmAnswer) else LlmAnswer.model_validate(result)
        else:
            message = await (DRAFT_PROMPT | model).ainvoke(variables)
            # parsed leniently: an invented source id makes the draft ungrounded (an agent sees why)
            answer = _parse_json_answer(message.content)
    except DraftingFailed:
        raise
    except Exception as exc:
        raise DraftingFailed(
            f"LLM drafting failed ({type(exc).__name__}: {str(exc)[:300]}); hand the turn to a human",
            transient=_is_transient(exc),
        ) from exc

    text = answer.answer.strip()
    if not text:
        return None
    cited = tuple(dict.fromkeys(s.strip() for s in answer.cited_sources if s.strip()))
    report = check_grounding(text, cited, context=context, known_sources=known, customer_message=customer_message)
    return Draft(
        text=text,
        sources=cited,
        confidence=0.75 if report.grounded else 0.2,
        mode=DraftMode.LLM,
        grounded=report.grounded,
        problems=report.problems,
    )
