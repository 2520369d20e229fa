"""The survey's texts and the reading of answers; the closed set of handoff reasons; "today" in the
operator's zone."""

from __future__ import annotations

import datetime as dt

import pytest

from conversation.handoff_reasons import REASON_LABELS, HandoffReason, handoff_reason
from conversation.survey import SurveyAnswer, not_solved_text, parse_answer, survey_text, thanks_text
from services.ops_outcomes import day_start
from services.timefmt import TimeFormatter


@pytest.mark.parametrize(
    ("text", "solved", "rating"),
    [
        ("yes", True, None),
        ("Yes!", True, None),
        ("JA", True, None),
        ("ja, gelöst", True, None),
        ("no", False, None),
        ("Nein.", False, None),
        ("not solved", False, None),
        ("noch nicht gelöst", False, None),
        ("5", None, 5),
        ("1", None, 1),
        ("4/5", None, 4),
        ("yes 5", True, 5),
        ("JA 5", True, 5),
        ("nein, 2 Sterne", False, 2),
        ("  yes, 4 stars, thanks ", True, 4),
    ],
)
def test_survey_answers_are_read(text: str, solved: bool | None, rating: int | None) -> None:
    assert parse_answer(text) == SurveyAnswer(solved=solved, rating=rating)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Where is my order 10023?",
        "10023",
        "6",
        "0",
        "yes no",
        "3 4",
        "yes, and where is my other order?",
        "Ich möchte einen Menschen sprechen",
        "thanks",
        "not",
        "y" * 80,
    ],
)
def test_anything_else_is_not_a_survey_answer(text: str) -> None:
    assert parse_answer(text) is None


def test_texts_in_german_and_english_and_english_otherwise() -> None:
    assert survey_text("de", ticket="GD-10042").startswith("Ist Ihr Anliegen GD-10042 gelöst?")
    assert "YES or NO" in survey_text("en") and "1 (poor) to 5 (excellent)" in survey_text("en-GB")
    assert survey_text("fr") == survey_text("en")
    assert thanks_text("de", SurveyAnswer(True, None)).startswith("Vielen Dank für Ihre Rückmeldung")
    assert thanks_text("en", SurveyAnswer(None, 3)) == "Thank you for your rating."
    assert "person from our team" in not_solved_text("en") and "Person aus unserem Team" in not_solved_text("de")


@pytest.mark.parametrize(
    ("text", "rule", "reason"),
    [
        ("policy routes to a person", "wants-human", HandoffReason.CUSTOMER_ASKED_FOR_PERSON),
        ("policy routes to a person", "guard:human-requested", HandoffReason.CUSTOMER_ASKED_FOR_PERSON),
        ("policy routes to a person", "angry-customers", HandoffReason.CUSTOMER_UPSET),
        ("policy routes to a person", "guard:backoffice-unavailable", HandoffReason.BACKOFFICE_UNAVAILABLE),
        ("policy routes to a person", "guard:claim-decision", HandoffReason.HUMAN_DECISION_REQUIRED),
        ("policy routes to a person", "complaints", HandoffReason.POLICY_ROUTE),
        ("policy routes to a person", None, HandoffReason.POLICY_ROUTE),
        ("no source: no automated answer", None, HandoffReason.NO_SOURCE),
        ("drafting failed: the model answered garbage", None, HandoffReason.DRAFTING_FAILED),
        ("draft not grounded", None, HandoffReason.NOT_GROUNDED),
        ("automation failed: TurnTimedOut", None, HandoffReason.AUTOMATION_FAILED),
        ("automation failed: the channel refused a reply", None, HandoffReason.DELIVERY_FAILED),
        ("automation failed: no source", None, HandoffReason.AUTOMATION_FAILED),
        ("the channel refused our reply", None, HandoffReason.DELIVERY_FAILED),
        ("the channel refused a reply", None, HandoffReason.DELIVERY_FAILED),
        ("a reply could not be delivered after repeated attempts", None, HandoffReason.DELIVERY_FAILED),
        ("a reply may not have reached the customer; check with the provider", None, HandoffReason.DELIVERY_FAILED),
        ("customer said not solved", None, HandoffReason.NOT_SOLVED),
        ("agent_took_over", None, HandoffReason.AGENT_TOOK_OVER),
        ("something nobody wrote yet", None, HandoffReason.OTHER),
        ("", "guard:out-of-scope", HandoffReason.OUT_OF_SCOPE),
    ],
)
def test_free_text_reasons_map_to_the_closed_set(text: str, rule: str | None, reason: HandoffReason) -> None:
    assert handoff_reason(text, rule_id=rule) is reason


def test_every_reason_has_a_label() -> None:
    assert set(REASON_LABELS) == set(HandoffReason)


def test_today_starts_at_local_midnight() -> None:
    berlin = TimeFormatter.for_zone("Europe/Berlin")
    # 23:30 UTC on 2 December is 00:30 on 3 December in Berlin: the day began at 23:00 UTC
    assert day_start(dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC), berlin) == dt.datetime(
        2026, 12, 2, 23, 0, tzinfo=dt.UTC
    )
    assert day_start(dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC), berlin) == dt.datetime(
        2026, 6, 30, 22, 0, tzinfo=dt.UTC
    )  # summer time
    utc = TimeFormatter.for_zone("UTC")
    assert day_start(dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC), utc) == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
