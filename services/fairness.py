"""The fairness audit: does a customer's name, gender, age, dialect or register change how we route them?

Both messages of every counterfactual pair (``services.fairness_pairs``) go through the same
understanding (``understand_with_redaction``) and the same routing (``services.turn_facts.build_facts``
and ``policies.evaluate`` with the deployment's guards) as a real turn, on every channel. The report
gives the share of identical routes, queues and priorities overall and per dimension, and the
handoff-rate ratio between each group and its reference. An audit below the threshold fails
(:func:`require_pass` raises :class:`FairnessAuditFailed`, which names the dimensions).

The texts are synthetic (template sentences with invented names): a report may keep examples."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from conversation import ChannelKind
from conversation.errors import GlassdeskError
from conversation.sql import SqlPolicyVersions
from policies import DEFAULT_GUARDS, DEFAULT_POLICY_PATH, Decision, GuardConfig, Policy, Route, evaluate, load_policy
from services.fairness_pairs import CounterfactualPair, Dimension
from services.settings import Settings
from services.turn_facts import build_facts, turn_language
from understanding import IntentModel, LanguageDetector, Redactor, Understanding, understand_with_redaction
from understanding.entities import extract_entities

__all__ = [
    "DEFAULT_MIN_IDENTICAL",
    "MAX_DIFFERENCES",
    "Understander",
    "TurnUnderstander",
    "DecisionSummary",
    "Comparison",
    "DimensionResult",
    "Difference",
    "FairnessReport",
    "FairnessAuditFailed",
    "run_audit",
    "require_pass",
    "archive_report",
    "latest_report",
    "report_dir",
    "audit_guards",
    "live_policy",
    "turn_understander",
    "summary",
]

DEFAULT_MIN_IDENTICAL = 0.98
MAX_DIFFERENCES = 50  # differing pairs kept in a report as examples
REPORT_PREFIX = "fairness-"

log = logging.getLogger("glassdesk.fairness")


class Understander(Protocol):
    """What the audit needs from understanding: the turn's ``Understanding`` of one message."""

    def understand(self, text: str) -> Understanding: ...


@dataclass(frozen=True, slots=True)
class TurnUnderstander:
    """Understands a message exactly as the turn's ``understand_turn`` step does."""

    model: IntentModel
    language_detector: LanguageDetector | None = None
    redactor: Redactor | None = None

    def understand(self, text: str) -> Understanding:
        understanding, _redacted = understand_with_redaction(
            text, model=self.model, language_detector=self.language_detector, redactor=self.redactor
        )
        return understanding


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class DecisionSummary(_Frozen):
    route: Route
    queue: str | None
    priority: str | None
    rule_id: str

    @classmethod
    def of(cls, d: Decision) -> DecisionSummary:
        return cls(route=d.route, queue=d.queue, priority=d.priority.value if d.priority else None, rule_id=d.rule_id)

    def describe(self) -> str:
        where = "/".join(x for x in (self.queue, self.priority) if x)
        return f"{self.route.value}{' ' + where if where else ''} ({self.rule_id})"


class _Shares(_Frozen):
    evaluations: int  # pairs x channels
    identical_routes: float
    identical_queues: float
    identical_priorities: float
    identical: float  # route, queue and priority all the same


class Comparison(_Shares):
    """One group against its reference within a dimension (e.g. name_origin: german vs turkish)."""

    reference: str
    group: str
    handoff_rate_reference: float
    handoff_rate_group: float
    handoff_ratio: float  # lower rate / higher rate; 1.0 is parity (and when neither is handed off)


class DimensionResult(_Shares):
    dimension: Dimension
    handoff_ratio: float  # the lowest of its comparisons
    passed: bool
    comparisons: tuple[Comparison, ...]


class Difference(_Frozen):
    """A pair whose two messages were routed differently, on ``channels`` (the first one's decisions)."""

    dimension: Dimension
    template_id: str
    channels: tuple[ChannelKind, ...]
    reference: str
    group: str
    text_reference: str
    text_group: str
    decision_reference: DecisionSummary
    decision_group: DecisionSummary


class FairnessReport(_Shares):
    created_at: dt.datetime
    pairs: int  # counterfactual pairs, each routed on every channel
    passed: bool
    min_identical: float
    failed_dimensions: tuple[Dimension, ...]
    policy_name: str
    policy_version: str
    model_id: str
    templates: int
    channels: tuple[ChannelKind, ...]
    dimensions: tuple[DimensionResult, ...]
    differences: tuple[Difference, ...]  # at most MAX_DIFFERENCES, one per differing pair
    differences_total: int  # differing pairs (each counted once, whatever the number of channels)

    def dimension(self, dimension: Dimension) -> DimensionResult | None:
        return next((d for d in self.dimensions if d.dimension is dimension), None)


class FairnessAuditFailed(GlassdeskError):
    """The audit found routing that depends on a protected cue; the message names the dimensions."""

    def __init__(self, report: FairnessReport) -> None:
        self.report = report
        lines = [
            f"fairness audit failed: identical routing below {report.min_identical:.1%} "
            f"(policy {report.policy_name}, version {report.policy_version}; model {report.model_id or '?'})"
        ]
        for d in report.dimensions:
            if not d.passed:
                lines.append(
                    f"  {d.dimension.value}: {d.identical:.1%} identical of {d.evaluations} pair evaluations "
                    f"(handoff ratio {d.handoff_ratio:.2f})"
                )
        if report.identical < report.min_identical:
            lines.append(f"  overall: {report.identical:.1%} identical of {report.evaluations} pair evaluations")
        shown: set[tuple[str, str, str]] = set()
        for x in report.differences:
            if len(shown) == 5 or (x.template_id, x.reference, x.group) in shown:
                continue
            shown.add((x.template_id, x.reference, x.group))
            lines.append(
                f"  e.g. {x.dimension.value} {x.template_id} ({', '.join(x.channels)}): "
                f"{x.reference} -> {x.decision_reference.describe()}, {x.group} -> "
                f"{x.decision_group.describe()}: {_short(x.text_group)!r}"
            )
        lines.append(
            "fix the policy rule or the model feature that reacts to the cue (see the report's "
            "differences), then run `glassdesk audit fairness` again"
        )
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type[FairnessAuditFailed], tuple[FairnessReport]]:
        return type(self), (self.report,)  # picklable, for a flow run that ships its exception elsewhere


@dataclass(frozen=True, slots=True)
class _Outcome:
    pair: CounterfactualPair
    channel: ChannelKind
    a: DecisionSummary
    b: DecisionSummary


def run_audit(
    pairs: Sequence[CounterfactualPair],
    *,
    understander: Understander,
    policy: Policy,
    guards: GuardConfig = DEFAULT_GUARDS,
    channels: Sequence[ChannelKind] = tuple(ChannelKind),
    min_identical: float = DEFAULT_MIN_IDENTICAL,
    model_id: str = "",
    templates: int | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> FairnessReport:
    """Route both messages of every pair on every channel and compare. Business hours are held open
    and no clarifying question has been asked, so only the message differs between the two."""
    if not pairs:
        raise ValueError("the fairness audit needs at least one counterfactual pair; check the templates")
    if not channels:
        raise ValueError("the fairness audit needs at least one channel")
    understood: dict[str, Understanding] = {}

    def route(text: str, language: str, channel: ChannelKind) -> DecisionSummary:
        u = understood.get(text)
        if u is None:
            u = understood[text] = understander.understand(text)
        facts = build_facts(
            u,
            text=text,
            channel=channel,
            language=turn_language(u, fallback=language),
            amount=extract_entities(text).amount,
            attempts=0,
            business_hours=True,
        )
        return DecisionSummary.of(evaluate(policy, facts, guards=guards))

    outcomes = [
        _Outcome(p, c, route(p.text_reference, p.language.value, c), route(p.text_group, p.language.value, c))
        for p in pairs
        for c in channels
    ]
    by_dimension: dict[Dimension, list[_Outcome]] = defaultdict(list)
    for o in outcomes:
        by_dimension[o.pair.dimension].append(o)
    dimensions = tuple(_dimension(d, by_dimension[d], min_identical) for d in Dimension if by_dimension[d])
    overall = _shares(outcomes)
    failed = tuple(d.dimension for d in dimensions if not d.passed)
    differing: dict[int, list[_Outcome]] = defaultdict(list)  # pair index -> its differing outcomes
    for i, o in enumerate(outcomes):
        if not _same(o):
            differing[i // len(channels)].append(o)
    return FairnessReport(
        **overall.model_dump(),
        created_at=clock(),
        passed=not failed and overall.identical >= min_identical,
        pairs=len(pairs),
        min_identical=min_identical,
        failed_dimensions=failed,
        policy_name=policy.name,
        policy_version=policy.version,
        model_id=model_id,
        templates=templates if templates is not None else len({p.template_id for p in pairs}),
        channels=tuple(channels),
        dimensions=dimensions,
        differences_total=len(differing),
        differences=tuple(_difference(items) for items in list(differing.values())[:MAX_DIFFERENCES]),
    )


def _difference(items: Sequence[_Outcome]) -> Difference:
    first = items[0]
    p = first.pair
    return Difference(
        dimension=p.dimension,
        template_id=p.template_id,
        channels=tuple(o.channel for o in items),
        reference=p.reference,
        group=p.group,
        text_reference=p.text_reference,
        text_group=p.text_group,
        decision_reference=first.a,
        decision_group=first.b,
    )


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same(o: _Outcome) -> bool:
    return (o.a.route, o.a.queue, o.a.priority) == (o.b.route, o.b.queue, o.b.priority)


def _shares(outcomes: Sequence[_Outcome]) -> _Shares:
    n = len(outcomes)
    return _Shares(
        evaluations=n,
        identical_routes=_share(sum(o.a.route is o.b.route for o in outcomes), n),
        identical_queues=_share(sum(o.a.queue == o.b.queue for o in outcomes), n),
        identical_priorities=_share(sum(o.a.priority == o.b.priority for o in outcomes), n),
        identical=_share(sum(_same(o) for o in outcomes), n),
    )


def _share(k: int, n: int) -> float:
    return round(k / n, 4) if n else 1.0


def _ratio(a: float, b: float) -> float:
    high = max(a, b)
    return round(min(a, b) / high, 4) if high else 1.0


def _dimension(dimension: Dimension, outcomes: Sequence[_Outcome], min_identical: float) -> DimensionResult:
    groups: dict[tuple[str, str], list[_Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.pair.reference, o.pair.group)].append(o)
    comparisons = []
    for (reference, group), items in groups.items():
        n = len(items)
        rate_a = _share(sum(o.a.route is Route.HANDOFF for o in items), n)
        rate_b = _share(sum(o.b.route is Route.HANDOFF for o in items), n)
        comparisons.append(
            Comparison(
                **_shares(items).model_dump(),
                reference=reference,
                group=group,
                handoff_rate_reference=rate_a,
                handoff_rate_group=rate_b,
                handoff_ratio=_ratio(rate_a, rate_b),
            )
        )
    shares = _shares(outcomes)
    return DimensionResult(
        **shares.model_dump(),
        dimension=dimension,
        passed=shares.identical >= min_identical,
        handoff_ratio=min(c.handoff_ratio for c in comparisons),
        comparisons=tuple(comparisons),
    )


def require_pass(report: FairnessReport) -> FairnessReport:
    """The report, or :class:`FairnessAuditFailed` when it is below its threshold."""
    if not report.passed:
        raise FairnessAuditFailed(report)
    return report


# -- inputs and archive ------------------------------------------------------------------------------


def turn_understander(settings: Settings) -> tuple[TurnUnderstander, str]:
    """The understanding a worker would use now: the live intent model (the demo model when none
    was trained yet, as a worker does), the language detector and the redactor; and the model's id."""
    from services.intent_source import live_intent_model_dir
    from understanding import load_model

    model = load_model(live_intent_model_dir(settings.model_dir))
    detector = LanguageDetector(preferred=settings.supported_languages)  # the prior towards the install's languages
    return TurnUnderstander(model, detector, Redactor()), model.metadata.model_id


def summary(report: FairnessReport, archived: Path | None = None) -> dict[str, object]:
    """The headline figures (ids and shares only), for a flow result, an audit-log entry or a log line."""
    return {
        "passed": report.passed,
        "identical": report.identical,
        "min_identical": report.min_identical,
        "pairs": report.pairs,
        "evaluations": report.evaluations,
        "failed_dimensions": [d.value for d in report.failed_dimensions],
        "dimensions": {d.dimension.value: d.identical for d in report.dimensions},
        "handoff_ratios": {d.dimension.value: d.handoff_ratio for d in report.dimensions},
        "differences": report.differences_total,
        "policy_version": report.policy_version,
        "model_id": report.model_id,
        "report": str(archived) if archived is not None else None,
    }


def audit_guards(settings: Settings) -> GuardConfig:
    """The guards as the worker configures them (``runtime.compose.build_turn_kit``)."""
    return GuardConfig(refund_limit=settings.refund_limit, supported_languages=settings.supported_languages)


async def live_policy(versions: SqlPolicyVersions) -> Policy:
    """The published policy the turn routes by, or the shipped default when none is published yet
    (read only: the audit never publishes)."""
    stored = await versions.active()
    if stored is None:
        return load_policy(
            DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), source=str(DEFAULT_POLICY_PATH), version="default"
        )
    return load_policy(stored.text, source=f"policy v{stored.version}", version=str(stored.version))


def report_dir(settings: Settings) -> Path:
    return settings.var_dir / "fairness"


def archive_report(report: FairnessReport, directory: Path) -> Path:
    """Write the report as ``fairness-<UTC timestamp>.json`` under ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{REPORT_PREFIX}{stamp}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report
    return path


def _archived(directory: Path) -> Iterable[Path]:
    return sorted(directory.glob(f"{REPORT_PREFIX}*.json"), reverse=True) if directory.is_dir() else ()


def latest_report(directory: Path) -> FairnessReport | None:
    """The newest readable archived report, or None when there is none yet."""
    for path in _archived(directory):
        try:
            return FairnessReport.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError) as exc:  # fall back to the one before it
            log.warning("fairness report %s is unreadable (%s); showing an older one", path, type(exc).__name__)
    return None
