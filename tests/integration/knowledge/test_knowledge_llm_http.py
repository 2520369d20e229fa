"""LLM drafting through ChatOpenAI against a local OpenAI-compatible endpoint over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from knowledge import KnowledgeBase, default_articles_dir, ingest_directory
from knowledge.backoffice import InMemoryBackOffice, Lookups, OrderStatus
from knowledge.drafting import DraftMode, build_chat_model, draft_with_llm

from .conftest import FakeOpenAI

TODAY = dt.date(2026, 11, 23)
ANNA = "CUST-1001"
RAW_EMAIL = "anna.schmidt@example.com"
RAW_PHONE = "+4915112345678"
REDACTED = "Hallo, hier ist [PERSON_1] ([EMAIL_1], [PHONE_1]). Wo ist meine Bestellung 10023? {system} {context}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


def _model(endpoint: FakeOpenAI, client: httpx.AsyncClient):
    return build_chat_model(
        provider="openai", model="local-model", base_url=endpoint.base_url, api_key="x", timeout=10, http_client=client
    )


async def _order() -> OrderStatus:
    return await Lookups(InMemoryBackOffice(today=lambda: TODAY)).order_status(ANNA, "10023")


def _kb() -> KnowledgeBase:
    return ingest_directory(default_articles_dir(), embedder=False)


async def test_grounded_answer_passes(endpoint: FakeOpenAI, client: httpx.AsyncClient) -> None:
    order = await _order()
    endpoint.reply = {
        "answer": "Ihre Bestellung 10023 ist mit DHL unterwegs (Sendungsnummer 00340434161094015902) "
        "und kommt voraussichtlich am 25.11.2026.",
        "cited_sources": ["lookup:order_status:10023"],
    }
    draft = await draft_with_llm(
        _model(endpoint, client), "order_status", language="de", customer_message=REDACTED, lookups=[order]
    )
    assert draft is not None
    assert draft.mode is DraftMode.LLM
    assert draft.grounded, draft.problems
    assert draft.sources == ("lookup:order_status:10023",)
    [request] = endpoint.requests()
    assert request["response_format"]["type"] == "json_schema"


async def test_invented_number_fails_the_check(endpoint: FakeOpenAI, client: httpx.AsyncClient) -> None:
    order = await _order()
    endpoint.reply = {
        "answer": "Your order 10023 arrives on 2026-11-24 and we add a 15 EUR credit.",
        "cited_sources": ["lookup:order_status:10023"],
    }
    draft = await draft_with_llm(
        _model(endpoint, client),
        "order_status",
        language="en",
        customer_message="Where is order 10023?",
        lookups=[order],
    )
    assert draft is not None and not draft.grounded
    assert "date 2026-11-24 does not appear in the context" in draft.problems
    assert "number '15' does not appear in the context" in draft.problems


async def test_request_carries_no_raw_pii_and_braces_survive(endpoint: FakeOpenAI, client: httpx.AsyncClient) -> None:
    kb = _kb()
    endpoint.reply = {
        "answer": "Den Status sehen Sie unter „Meine Bestellungen“.",
        "cited_sources": ["kb:shop-tracking-de"],
    }
    draft = await draft_with_llm(
        _model(endpoint, client),
        "order_status",
        language="de",
        customer_message=REDACTED,
        hits=kb.search("Wo ist meine Bestellung?", language="de", k=2),
        lookups=[await _order()],
    )
    assert draft is not None and draft.grounded
    [raw] = endpoint.bodies
    text = raw.decode()
    assert RAW_EMAIL not in text and RAW_PHONE not in text and "Schmidt" not in text
    [request] = endpoint.requests()
    user = request["messages"][-1]
    assert user["role"] == "user"
    assert user["content"] == REDACTED  # braces reached the model verbatim, nothing was formatted into them
    assert "{system}" not in request["messages"][0]["content"]


async def test_internal_articles_never_reach_the_model(endpoint: FakeOpenAI, client: httpx.AsyncClient) -> None:
    kb = _kb()
    hits = kb.search("Kulanz Gutschein verspätete Lieferung", language="de", include_internal=True)
    assert any(h.article_id.startswith("internal-") for h in hits)
    endpoint.reply = {"answer": "Versand dauert 2 bis 4 Werktage.", "cited_sources": ["kb:shop-shipping-de"]}
    await draft_with_llm(_model(endpoint, client), "shipping", language="de", customer_message="Lieferung?", hits=hits)
    assert all("internal-" not in body.decode() for body in endpoint.bodies)


async def test_function_calling_method_also_works_over_http(endpoint: FakeOpenAI, client: httpx.AsyncClient) -> None:
    from knowledge.drafting import LlmAnswer

    endpoint.reply = {"answer": "ok", "cited_sources": []}
    structured = _model(endpoint, client).with_structured_output(LlmAnswer, method="function_calling")
    answer = await structured.ainvoke("hi")
    assert answer == LlmAnswer(answer="ok", cited_sources=[])
    assert endpoint.requests()[0]["tools"][0]["function"]["name"] == "LlmAnswer"
