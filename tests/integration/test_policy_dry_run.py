"""An exact dry run: the unchanged live policy replayed on past turns reports 0 changed routes, and the
same replay twice gives the same report. Past turns whose final route differs from the policy's (no
source, so a person got it) are compared on the route the policy chose."""

from __future__ import annotations

from pathlib import Path

from conversation import ChannelKind, ChatSession, DecisionRecord, InboundMessage, Route
from policies import DEFAULT_POLICY_PATH, Facts, GuardConfig, evaluate, load_policy
from runtime.compose import open_container
from services.ingest import Ingestor
from services.policy_admin import preview_policy
from services.settings import Settings

CASES = [  # (text, facts) of past turns; the final route is what the turn did after the policy
    ("Where is my order 10023?", {"intent": "order_status", "intent_confidence": 0.93}),
    ("How do returns work?", {"intent": "return_request", "intent_confidence": 0.81}),
    ("Hello?", {"intent": "small_talk", "intent_confidence": 0.4, "out_of_scope": True}),
    ("I want a person", {"intent": "wants_human", "intent_confidence": 0.99, "asked_for_human": True}),
]


async def test_an_unchanged_policy_changes_no_route_and_the_replay_is_repeatable(
    tmp_path: Path, redis_url: str
) -> None:
    settings = Settings(var_dir=tmp_path, redis_url=redis_url)
    text = DEFAULT_POLICY_PATH.read_text()
    async with open_container(settings) as services:
        live = await services.policies.publish(text, author="test", message="live")
        policy = load_policy(text, version=str(live.version))
        guards = GuardConfig(refund_limit=settings.refund_limit, supported_languages=settings.supported_languages)
        for i, (message, extra) in enumerate(CASES):
            res = await Ingestor(services).accept(
                InboundMessage(
                    channel=ChannelKind.CHAT,
                    external_id=f"00000000-0000-4000-8000-{i:012d}",
                    address=ChatSession(session_id=f"dry-run-{i}"),
                    text=message,
                )
            )
            facts = Facts(channel=ChannelKind.CHAT, language="en", **extra)
            decided = evaluate(policy, facts, guards=guards)
            final = Route.HANDOFF if decided.route is Route.AUTO_REPLY else decided.route  # e.g. no source found
            await services.timeline.save_decision(
                DecisionRecord(
                    conversation_id=res.conversation.id,
                    inbound_message_id=res.message.id,
                    route=final,
                    rule_id=decided.rule_id,
                    policy_version=str(live.version),
                    reason=decided.reason,
                    facts={**facts.model_dump(mode="json"), "policy_route": decided.route.value},
                )
            )
        first = await preview_policy(services, text, since_days=1)
        second = await preview_policy(services, text, since_days=1)
    assert first.replayed == len(CASES) and first.skipped == 0
    assert first.report.changed == 0, first.report
    assert first.diff == "" and (
        first.changes is None or not str(first.changes).strip() or "no changes" in str(first.changes)
    )
    assert first.report.model_dump() == second.report.model_dump()
