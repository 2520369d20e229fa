"""The ChannelSender contract (``conversation/ports.py``), one set of cases for every channel's adapter and
its fake: it serves one channel, returns the provider's id, refuses other channels' messages for good,
renders the AI disclosure (naming the approver) and the status link, keeps a person's reply free of
AI labels, and raises nothing but the three documented delivery errors. Outcomes are read from what
the server received (see ``conftest.py``), never from calls."""

from __future__ import annotations

import pytest

from conversation import (
    ChannelKind,
    DeliveryError,
    OutcomeUnknown,
    PermanentDeliveryError,
    TransientDeliveryError,
    ai_disclosure,
    human_hint,
)
from tests.contract.conftest import (
    FAILURES,
    STATUS_URL,
    FailureCase,
    SenderHarness,
    outbound,
)

CORE_CLASSES = (TransientDeliveryError, PermanentDeliveryError, OutcomeUnknown)
REPLY = {
    "en": "Your order 4711 left our warehouse today.",
    "de": "Ihre Bestellung 4711 hat heute unser Lager verlassen.",
}
AI_WORDS = {"en": "AI assistant", "de": "KI-Assistent"}  # what every disclosure line says, in its language
APPROVER = "Jonas Weber"


def _failure_params() -> list[object]:
    params: list[object] = []
    for kind, cases in FAILURES.items():
        for case in cases:
            marks = (
                [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case.known_bug)] if case.known_bug else []
            )
            params.append(pytest.param(kind, case, id=f"{kind}-{case.failure}", marks=marks))
    return params


async def test_the_sender_serves_its_one_channel(harness: SenderHarness) -> None:
    assert harness.sender.channel is harness.channel
    # only a chat publish reaches the customer at once; email and SMS are confirmed later or never
    assert harness.sender.delivered_on_send is (harness.channel is ChannelKind.CHAT)
    assert harness.sender.resend_is_harmless is (harness.channel is ChannelKind.CHAT)


async def test_a_good_message_reaches_the_server_once_and_returns_its_provider_id(harness: SenderHarness) -> None:
    first, second = harness.message(REPLY["en"]), harness.message(REPLY["de"])
    ids = [await harness.sender.send(first), await harness.sender.send(second)]
    assert all(isinstance(i, str) and i.strip() for i in ids), ids
    assert ids[0] != ids[1]
    got = await harness.delivered(at_least=2)
    assert len(got) == 2
    assert first.text in got[0].text and second.text in got[1].text
    for received, provider_id in zip(got, ids, strict=True):
        if received.provider_id is not None:  # the server assigns ids: ours is the one it recorded
            assert received.provider_id == provider_id


async def test_a_message_for_another_channel_is_refused_for_good(harness: SenderHarness) -> None:
    for other in ChannelKind:
        if other is not harness.channel:
            with pytest.raises(PermanentDeliveryError):
                await harness.sender.send(outbound(other, f"Addressed for {other.value}."))
    marker = harness.message("Only this reply is for this channel.")
    await harness.sender.send(marker)
    got = await harness.delivered(at_least=1)
    assert [marker.text in g.text for g in got] == [True], "a refused message reached the server"


@pytest.mark.parametrize("approved_by", [None, APPROVER], ids=["unreviewed", "approved"])
@pytest.mark.parametrize("language", ["en", "de"])
async def test_an_ai_reply_carries_the_disclosure_in_the_customers_language(
    harness: SenderHarness, language: str, approved_by: str | None
) -> None:
    message = harness.message(REPLY[language], ai_generated=True, language=language, approved_by=approved_by)
    await harness.sender.send(message)
    [got] = await harness.delivered(at_least=1)
    assert message.text in got.text
    assert AI_WORDS[language] in got.text
    assert ai_disclosure(language, approved_by=approved_by) in got.text
    if approved_by is not None:
        assert approved_by in got.text


@pytest.mark.parametrize("language", ["en", "de"])
async def test_a_persons_reply_carries_no_ai_disclosure(harness: SenderHarness, language: str) -> None:
    message = harness.message(REPLY[language], ai_generated=False, language=language, author_name="Petra")
    await harness.sender.send(message)
    [got] = await harness.delivered(at_least=1)
    assert message.text in got.text
    for lang, word in AI_WORDS.items():
        assert word not in got.text
        assert ai_disclosure(lang) not in got.text
        assert human_hint(lang) not in got.text  # 'Reply "agent" ...' / '... "Mensch" ...' is for AI replies
    if harness.signs_with_author_name:
        assert "Petra" in got.text


@pytest.mark.parametrize("ai_generated", [True, False], ids=["ai", "person"])
async def test_the_reply_links_the_status_page(harness: SenderHarness, ai_generated: bool) -> None:
    await harness.sender.send(harness.message(REPLY["en"], ai_generated=ai_generated, author_name="Petra"))
    [got] = await harness.delivered(at_least=1)
    assert STATUS_URL in got.text


@pytest.mark.parametrize(("harness", "case"), _failure_params(), indirect=["harness"])
async def test_every_failure_is_one_of_the_three_documented_errors(harness: SenderHarness, case: FailureCase) -> None:
    failed = harness.message("This reply meets a failing server.")
    await harness.inject(case.failure)
    with pytest.raises(Exception) as raised:
        await harness.sender.send(failed)
    error = raised.value
    assert isinstance(error, DeliveryError), f"{type(error).__name__} escaped the error tree: {error}"
    assert [isinstance(error, cls) for cls in CORE_CLASSES].count(True) == 1
    assert isinstance(error, case.expected), f"expected {case.expected.__name__}, got {type(error).__mro__}: {error}"

    await harness.heal()
    recovered = harness.message("This reply goes out once the server is back.")
    await harness.sender.send(recovered)
    got = await harness.delivered(at_least=2 if case.reaches_server else 1)
    texts = [g.text for g in got]
    assert sum(recovered.text in t for t in texts) == 1
    # nothing went out for the failed send, unless the server took it before the client gave up
    assert sum(failed.text in t for t in texts) == (1 if case.reaches_server else 0), texts
