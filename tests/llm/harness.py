"""Real turns through Glassdesk's LangChain drafting path against a real local LLM, recorded.

``LlmTurnRig`` opens the composition root (``runtime.compose.open_container`` and ``build_turn_kit``) with
settings that select the OpenAI-compatible LLM, then runs every customer message the way production does:
``Ingestor`` stores and queues it, the worker takes it from the Redis stream and runs the Prefect ``turns``
flow (understand, look up, decide, draft, then send / approval / hand-off), and a failed turn is
dead-lettered to a person. Two things are wrapped, never replaced:

- the HTTP transport of the chat model (``RecordingTransport``): every request body sent to the model and
  every response, so a test can show that each prompt was redacted;
- the drafter (``TimedDrafter`` around ``LlmDrafter``): each draft, its grounding verdict and latency.

The instrumented drafter is built by ``build_chat_model`` from the same settings ``build_turn_kit`` used;
the rig checks that ``build_turn_kit`` chose the LLM drafter for them. ``TurnResult`` is what one turn did,
read back from the stores (decision record, messages)."""

from __future__ import annotations

import contextlib
import enum
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from conversation import (
    AuthorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    Direction,
    InboundMessage,
    PhoneAddress,
    Route,
)
from flows.turn_work import TurnDeps
from knowledge.drafting import Draft, Drafter, DraftIntent, LlmDrafter, LookupResult, build_chat_model
from knowledge.errors import KnowledgeError
from knowledge.retrieval import Hit
from runtime.compose import build_turn_kit, open_container
from runtime.turn_runner import TurnRunner
from runtime.worker import TurnWorker, worker_for
from services.container import Container
from services.ingest import Ingestor
from services.settings import Settings
from tests.llm.scenarios import Scenario, Topic, Via

__all__ = [
    "Exchange",
    "RecordingTransport",
    "DraftCall",
    "TimedDrafter",
    "TurnRoute",
    "TurnResult",
    "LlmUsage",
    "LlmTurnRig",
    "pii_found",
    "sent_by_ai",
]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d[\d\s()/-]{7,}\d")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")


def pii_found(text: str, values: Sequence[str]) -> tuple[str, ...]:
    """What of ``values`` (as written, or without spaces) and which email/phone/IBAN shapes occur in ``text``."""
    compact = re.sub(r"\s", "", text).lower()
    found = [f"value {v!r}" for v in values if v.lower() in text.lower() or re.sub(r"\s", "", v).lower() in compact]
    found += [
        f"{kind} {m.group(0)!r}"
        for kind, pattern in (("email", _EMAIL), ("phone", _PHONE), ("iban", _IBAN))
        for m in pattern.finditer(text)
    ]
    return tuple(dict.fromkeys(found))


# -- the model's HTTP traffic ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request to the model server and its answer."""

    url: str
    request: dict[str, Any]
    status: int
    response: dict[str, Any] | None
    elapsed_s: float

    def prompt_text(self) -> str:
        """Every message content sent to the model, joined."""
        messages = self.request.get("messages") or []
        return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))

    def usage(self) -> tuple[int | None, int | None]:
        usage = (self.response or {}).get("usage") or {}
        return usage.get("prompt_tokens"), usage.get("completion_tokens")


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request to ``inner`` and records the request body and the response body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        raw = await response.aread()
        await response.aclose()
        self.exchanges.append(
            Exchange(
                url=str(request.url),
                request=_json_or_none(body) or {},
                status=response.status_code,
                response=_json_or_none(raw),
                elapsed_s=time.perf_counter() - started,
            )
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=raw, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


# -- the drafter's verdicts -----------------------------------------------------------------------------
class DraftCall(BaseModel):
    """One call of the drafter: the draft (before PII is restored), its grounding verdict, or the error."""

    model_config = ConfigDict(frozen=True)

    text: str | None
    sources: tuple[str, ...] = ()
    grounded: bool | None = None
    problems: tuple[str, ...] = ()
    error: str | None = None
    latency_s: float


@dataclass
class TimedDrafter:
    """A ``Drafter`` that times and records ``inner``; it changes nothing it returns or raises."""

    inner: Drafter
    calls: list[DraftCall] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    async def draft(
        self,
        intent: DraftIntent | str,
        *,
        language: str,
        customer_message: str,
        hits: Sequence[Hit],
        lookups: Sequence[LookupResult],
    ) -> Draft | None:
        started = time.perf_counter()
        try:
            draft = await self.inner.draft(
                intent, language=language, customer_message=customer_message, hits=hits, lookups=lookups
            )
        except KnowledgeError as exc:
            self.calls.append(
                DraftCall(
                    text=None, error=f"{type(exc).__name__}: {exc}"[:500], latency_s=time.perf_counter() - started
                )
            )
            raise
        self.calls.append(
            DraftCall(
                text=draft.text if draft else None,
                sources=draft.sources if draft else (),
                grounded=draft.grounded if draft else None,
                problems=draft.problems if draft else (),
                latency_s=time.perf_counter() - started,
            )
        )
        return draft


# -- one turn's outcome ---------------------------------------------------------------------------------
@enum.unique
class TurnRoute(enum.StrEnum):
    SENT = "sent"  # the AI's draft went to the customer
    APPROVAL = "to_approval"  # the draft waits for a person's approval
    HANDED_OFF = "handed_off"  # a person takes over (policy, no source, or the turn failed)
    CLARIFIED = "asked_clarification"


class LlmUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    elapsed_s: float
    prompt_tokens: int | None
    completion_tokens: int | None


class TurnResult(BaseModel):
    """What one customer message led to, read back from the decision record and the messages."""

    model_config = ConfigDict(frozen=True)

    key: str
    topic: str
    language: str
    via: str
    text: str
    intent: str | None
    intent_confidence: float | None
    policy_route: str | None
    rule_id: str | None
    route: TurnRoute
    reason: str | None
    drafts: tuple[DraftCall, ...]
    llm: tuple[LlmUsage, ...]
    ai_reply_id: str | None  # the decision record's outbound message: the AI draft that was sent
    outbound: tuple[tuple[str, str], ...]  # (author kind, text) of every message the customer got
    prompt_leaks: tuple[str, ...]  # personal data found in what was sent to the model

    @property
    def final_draft(self) -> DraftCall | None:
        return self.drafts[-1] if self.drafts else None


_WARM_UP = Scenario(
    key="warm-up", topic=Topic.ORDER_STATUS, language="en", via=Via.CHAT, text="I want to talk to a person, please"
)


def _route(record_route: Route | None, status: ConversationStatus, *, ai_reply: bool) -> TurnRoute:
    """``ai_reply``: the decision record names an outbound message the customer got (a clarifying question
    is recorded the same way as a sent draft)."""
    if record_route is Route.ASK_CLARIFICATION:
        return TurnRoute.CLARIFIED
    if ai_reply:
        return TurnRoute.SENT
    if record_route is Route.DRAFT_FOR_APPROVAL or status is ConversationStatus.AWAITING_AGENT:
        return TurnRoute.APPROVAL
    return TurnRoute.HANDED_OFF


# -- the rig --------------------------------------------------------------------------------------------
@dataclass
class LlmTurnRig:
    services: Container
    worker: TurnWorker
    drafter: TimedDrafter
    transport: RecordingTransport

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[LlmTurnRig]:
        """The composition root for ``settings`` (which must select an LLM), with the drafter instrumented.

        Use settings with ``turn_max_deliveries=1`` and a small ``turn_min_idle_ms``: a turn that failed
        is then dead-lettered to a person on the next read instead of waiting for redelivery."""
        if not (settings.llm_provider and settings.llm_base_url and settings.llm_model):
            raise ValueError("the rig needs settings with llm_provider, llm_base_url and llm_model (GLASSDESK_LLM_*)")
        async with open_container(settings, migrate=False) as services:
            await services.redis.flushdb()
            kit = await build_turn_kit(services)
            if not isinstance(kit.drafter, LlmDrafter) or kit.drafter.name != settings.llm_model:
                raise AssertionError(f"build_turn_kit chose {kit.drafter.name!r}, not the LLM {settings.llm_model!r}")
            transport = RecordingTransport(httpx.AsyncHTTPTransport())
            async with httpx.AsyncClient(transport=transport, timeout=settings.llm_timeout_s) as http:
                model = build_chat_model(
                    provider=settings.llm_provider,
                    model=settings.llm_model,
                    base_url=settings.llm_base_url,
                    api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                    timeout=settings.llm_timeout_s,
                    http_client=http,
                )
                drafter = TimedDrafter(LlmDrafter(model))
                runner = TurnRunner(TurnDeps(services=services, kit=replace(kit, drafter=drafter)))
                worker = worker_for(services, runner.handle_batch, name="llm-rig")
                try:
                    yield cls(services=services, worker=worker, drafter=drafter, transport=transport)
                finally:
                    await runner.aclose()
                await services.redis.flushdb()

    async def run(self, scenario: Scenario) -> TurnResult:
        """Ingest ``scenario`` as a new conversation and run its turn to the end (closed afterwards, so the
        next message from the same phone number starts a new conversation, as after an agent closed it)."""
        s = self.services
        drafts_before, exchanges_before = len(self.drafter.calls), len(self.transport.exchanges)
        if scenario.via is Via.SMS:
            assert scenario.sender is not None, scenario.key
            inbound = InboundMessage(
                channel=ChannelKind.SMS,
                external_id="SM" + uuid.uuid4().hex,
                address=PhoneAddress(number=scenario.sender),
                text=scenario.text,
            )
        else:
            inbound = InboundMessage(
                channel=ChannelKind.CHAT,
                external_id=str(uuid.uuid4()),
                address=ChatSession(session_id=f"llm-{scenario.key}-{uuid.uuid4().hex[:8]}"),
                text=scenario.text,
            )
        accepted = await Ingestor(s).accept(inbound)
        message_id, conversation_id = accepted.message.id, accepted.conversation.id
        for _ in range(4):  # a failed turn is reclaimed and dead-lettered to a person on the next read
            await self.worker.run_once(block_ms=200)
            if (await s.queue.depth())["pending"] == 0:
                break
        else:
            raise AssertionError(f"turn {scenario.key} ({message_id}) still pending after four reads")

        record = await s.timeline.decision_for(message_id)
        conversation = await s.messages.get_conversation(conversation_id)
        outbound = [m for m in await s.messages.list_messages(conversation_id) if m.direction is Direction.OUTBOUND]
        ai_reply_id = record.outbound_message_id if record is not None else None
        exchanges = self.transport.exchanges[exchanges_before:]
        forbidden = (*scenario.pii, *((scenario.sender,) if scenario.sender else ()))
        leaks = tuple(dict.fromkeys(leak for x in exchanges for leak in pii_found(x.prompt_text(), forbidden)))
        facts = record.facts if record is not None else {}
        result = TurnResult(
            key=scenario.key,
            topic=scenario.topic.value,
            language=scenario.language,
            via=scenario.via.value,
            text=scenario.text,
            intent=facts.get("intent"),
            intent_confidence=facts.get("intent_confidence"),
            policy_route=facts.get("policy_route"),
            rule_id=record.rule_id if record else None,
            route=_route(
                record.route if record else None,
                conversation.status,
                ai_reply=ai_reply_id is not None and any(m.id == ai_reply_id for m in outbound),
            ),
            reason=record.reason if record else None,
            drafts=tuple(self.drafter.calls[drafts_before:]),
            llm=tuple(
                LlmUsage(
                    status=x.status,
                    elapsed_s=round(x.elapsed_s, 3),
                    prompt_tokens=x.usage()[0],
                    completion_tokens=x.usage()[1],
                )
                for x in exchanges
            ),
            ai_reply_id=ai_reply_id,
            outbound=tuple((m.author_kind.value, m.text) for m in outbound),
            prompt_leaks=leaks,
        )
        await s.messages.route_conversation(conversation_id, ConversationStatus.CLOSED)
        return result

    async def warm_up(self) -> TurnResult:
        """One turn that a person takes over (no model call): the worker's first turn loads the intent
        model, the knowledge index and the modules each step imports, which on a busy machine can hold
        the event loop for seconds. Not part of any figure."""
        return await self.run(_WARM_UP)


def sent_by_ai(result: TurnResult) -> list[str]:
    """The texts of AI-authored messages the customer got in this turn (a sent draft or a clarifying question)."""
    return [text for author, text in result.outbound if author == AuthorKind.AI.value]
