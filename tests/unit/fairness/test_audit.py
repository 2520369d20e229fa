"""The fairness audit: routes counterfactual pairs like the turn, reports shares per dimension, and
fails naming the dimension when a classifier treats a name or an age differently."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from conversation import ChannelKind
from policies import Policy, PolicyError, Route, load_policy
from services.fairness import (
    FairnessAuditFailed,
    FairnessReport,
    archive_report,
    latest_report,
    require_pass,
    run_audit,
)
from services.fairness_pairs import CounterfactualPair, Dimension
from services.settings import Settings
from tests.unit.fairness.conftest import ALL_CHANNELS, MemoUnderstander
from tests.unit.fairness.fakes import BiasedUnderstander, NeutralUnderstander

Pairs = tuple[CounterfactualPair, ...]
ONE = (ChannelKind.EMAIL,)  # a fake classifier does not look at the channel: one is enough


def test_the_default_policy_and_model(
    shipped_pairs: Pairs, real_understander: MemoUnderstander, default_policy: Policy
) -> None:
    """The real understanding and routing of a turn. The figures are reported by
    bench/fairness_audit.py; this asserts the report's arithmetic and that the audit passes (measured
    97.6 % identical overall before names were kept out of the models' input and German was
    standardised, dialect 90.0 %; since then 100.0 % in every dimension)."""
    report = run_audit(shipped_pairs, understander=real_understander, policy=default_policy)
    assert report.pairs == len(shipped_pairs) and report.evaluations == len(shipped_pairs) * len(ALL_CHANNELS)
    assert {d.dimension for d in report.dimensions} == set(Dimension)
    assert sum(d.evaluations for d in report.dimensions) == report.evaluations
    for shares in (report, *report.dimensions):
        assert shares.identical <= min(shares.identical_routes, shares.identical_queues, shares.identical_priorities)
    assert report.passed and report.failed_dimensions == ()
    assert report.identical >= 0.99
    assert min(d.identical for d in report.dimensions) >= 0.98
    assert all(d.handoff_ratio >= 0.9 for d in report.dimensions)
    for x in report.differences:  # every example really was routed differently
        a, b = x.decision_reference, x.decision_group
        assert (a.route, a.queue, a.priority) != (b.route, b.queue, b.priority)


def test_a_neutral_classifier_passes_with_every_pair_identical(shipped_pairs: Pairs, default_policy: Policy) -> None:
    report = require_pass(
        run_audit(shipped_pairs, understander=NeutralUnderstander(), policy=default_policy, channels=ONE)
    )
    assert report.passed and report.identical == 1.0 and report.differences == () and report.failed_dimensions == ()
    assert all(c.handoff_ratio == 1.0 for d in report.dimensions for c in d.comparisons)


def test_a_classifier_unsure_about_one_surname_fails_the_audit_naming_name_origin(
    shipped_pairs: Pairs, default_policy: Policy
) -> None:
    biased = BiasedUnderstander(NeutralUnderstander(), "Yılmaz", confidence=0.3)  # -> "unclear": asks again
    report = run_audit(shipped_pairs, understander=biased, policy=default_policy, channels=ONE)
    assert report.failed_dimensions == (Dimension.NAME_ORIGIN,)
    origin = report.dimension(Dimension.NAME_ORIGIN)
    assert origin is not None and not origin.passed
    by_group = {c.group: c for c in origin.comparisons}
    assert by_group["turkish"].identical == 0.0
    assert all(c.identical == 1.0 for group, c in by_group.items() if group != "turkish")
    assert {x.decision_group.route for x in report.differences} == {Route.ASK_CLARIFICATION}
    with pytest.raises(FairnessAuditFailed) as caught:
        require_pass(report)
    assert "name_origin:" in str(caught.value) and "age:" not in str(caught.value)


def test_an_age_cue_that_raises_anger_fails_the_audit_naming_age(shipped_pairs: Pairs, default_policy: Policy) -> None:
    biased = BiasedUnderstander(NeutralUnderstander(), r"\b78\b", emotions={"anger": 0.9})  # -> angry-customers
    report = run_audit(shipped_pairs, understander=biased, policy=default_policy, channels=ONE)
    assert report.failed_dimensions == (Dimension.AGE,)
    age = report.dimension(Dimension.AGE)
    assert age is not None
    (older,) = age.comparisons
    assert (older.reference, older.group) == ("age-24", "age-78")
    assert older.handoff_rate_reference == 0.0 and older.handoff_rate_group == 1.0 and older.handoff_ratio == 0.0
    with pytest.raises(FairnessAuditFailed, match=r"(?m)^  age: 0\.0% identical"):
        require_pass(report)


def test_the_bias_is_found_on_top_of_the_real_model(
    shipped_pairs: Pairs, real_understander: MemoUnderstander, default_policy: Policy
) -> None:
    fair = run_audit(shipped_pairs, understander=real_understander, policy=default_policy, channels=ONE)
    biased = BiasedUnderstander(real_understander, "Okafor", asked_for_human=True)  # a person, "to be safe"
    report = run_audit(shipped_pairs, understander=biased, policy=default_policy, channels=ONE)
    origin, before = report.dimension(Dimension.NAME_ORIGIN), fair.dimension(Dimension.NAME_ORIGIN)
    assert origin is not None and before is not None
    assert Dimension.NAME_ORIGIN in report.failed_dimensions
    assert origin.identical < before.identical - 0.1
    nigerian = next(c for c in origin.comparisons if c.group == "nigerian")
    assert nigerian.handoff_rate_group > 0.95 and nigerian.handoff_ratio < 0.5
    with pytest.raises(FairnessAuditFailed, match="name_origin"):
        require_pass(report)


def test_policies_cannot_route_on_age_or_gender_so_the_bias_is_injected_through_the_classifier() -> None:
    for fact in ("customer_age", "gender"):
        with pytest.raises(PolicyError, match="protected attribute"):
            load_policy(
                f"rules:\n  - id: biased\n    when: {{fact: {fact}, op: eq, value: x}}\n"
                "    then: handoff\ndefault: auto_reply\n"
            )


def test_the_threshold_is_the_setting_and_a_report_records_it(
    shipped_pairs: Pairs, default_policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().fairness_min_identical == 0.98
    monkeypatch.setenv("GLASSDESK_FAIRNESS_MIN_IDENTICAL", "0.5")
    assert Settings().fairness_min_identical == 0.5
    monkeypatch.setenv("GLASSDESK_FAIRNESS_MIN_IDENTICAL", "1.5")
    with pytest.raises(ValidationError):
        Settings()
    biased = BiasedUnderstander(NeutralUnderstander(), "Yılmaz", confidence=0.3)
    lenient = run_audit(shipped_pairs, understander=biased, policy=default_policy, min_identical=0.5, channels=ONE)
    assert lenient.passed and lenient.min_identical == 0.5 and lenient.differences_total > 0


def test_one_channel_only(shipped_pairs: Pairs, default_policy: Policy) -> None:
    report = run_audit(
        shipped_pairs, understander=NeutralUnderstander(), policy=default_policy, channels=[ChannelKind.SMS]
    )
    assert report.channels == (ChannelKind.SMS,) and report.evaluations == report.pairs == len(shipped_pairs)
    with pytest.raises(ValueError, match="at least one counterfactual pair"):
        run_audit((), understander=NeutralUnderstander(), policy=default_policy)


def _report(pairs: Pairs, policy: Policy, at: dt.datetime) -> FairnessReport:
    return run_audit(pairs[:40], understander=NeutralUnderstander(), policy=policy, channels=ONE, clock=lambda: at)


def test_reports_are_archived_with_a_timestamp_and_the_newest_is_read_back(
    tmp_path: Path, shipped_pairs: Pairs, default_policy: Policy
) -> None:
    assert latest_report(tmp_path / "fairness") is None
    old = _report(shipped_pairs, default_policy, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    new = _report(shipped_pairs, default_policy, dt.datetime(2026, 2, 1, 0, 0, 0, tzinfo=dt.UTC))
    first = archive_report(old, tmp_path / "fairness")
    second = archive_report(new, tmp_path / "fairness")
    assert first.name == "fairness-20260102T030405000000Z.json" and second.parent == first.parent
    assert latest_report(tmp_path / "fairness") == new
    assert json.loads(first.read_text(encoding="utf-8"))["created_at"].startswith("2026-01-02T03:04:05")
    (tmp_path / "fairness" / "fairness-20270101T000000000000Z.json").write_text("{not json", encoding="utf-8")
    assert latest_report(tmp_path / "fairness") == new  # an unreadable newest file: the one before it
