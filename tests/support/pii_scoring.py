"""Recall and precision of a PII finder on corpus samples (`tests/support/pii_corpus.py`).

- A gold span is *found* when findings of its own kind cover every character of it that is not
  white space or punctuation; it is *hidden* when findings of any kind cover it (what a reader of the
  redacted text can no longer see).
- A finding is *correct* when it overlaps a gold span of its kind. Findings of the configured
  business-reference kinds (order and claim numbers, see `BUSINESS_REFERENCE_KINDS`) are not personal
  data and are counted apart, as are their hits on look-alikes.
- A look-alike (order number, amount, ordinary date, ...) is *touched* when a finding overlaps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from tests.support.pii_corpus import DistractorKind, Sample
from understanding.pii import PiiKind

__all__ = ["BUSINESS_REFERENCE_KINDS", "KindScore", "LookalikeScore", "Miss", "Score", "score"]

Finding = tuple[PiiKind, int, int]
BUSINESS_REFERENCE_KINDS = frozenset({PiiKind.ORDER_NUMBER, PiiKind.CLAIM_NUMBER})


class KindScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    gold: int = 0
    found: int = 0
    hidden: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def hidden_recall(self) -> float:
        return self.hidden / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    def plus(self, other: KindScore) -> KindScore:
        return KindScore(**{f: getattr(self, f) + getattr(other, f) for f in KindScore.model_fields})

    def summary(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "recall": round(self.recall, 4),
            "hidden_recall": round(self.hidden_recall, 4),
            "precision": round(self.precision, 4),
        }


class LookalikeScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int = 0
    touched_as_personal: int = 0
    touched_as_reference: int = 0


class Miss(BaseModel):
    model_config = ConfigDict(frozen=True)

    template_id: str
    kind: str
    value: str
    text: str


class Score(BaseModel):
    model_config = ConfigDict(frozen=True)

    by_kind: dict[PiiKind, KindScore]
    by_language: dict[str, dict[PiiKind, KindScore]]
    lookalikes: dict[DistractorKind, LookalikeScore]
    misses: tuple[Miss, ...]
    false_positives: tuple[Miss, ...]

    def worst_recall(self) -> float:
        return min(s.recall for s in self.by_kind.values() if s.gold)


def _covered(start: int, end: int, text: str, spans: Iterable[tuple[int, int]]) -> bool:
    spans = list(spans)
    return all(any(s <= i < e for s, e in spans) for i in range(start, end) if text[i].isalnum())


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _score_one(
    sample: Sample, findings: Sequence[Finding]
) -> tuple[dict[PiiKind, KindScore], list[Miss], list[Miss], dict[DistractorKind, LookalikeScore]]:
    kinds: dict[PiiKind, KindScore] = {}
    misses: list[Miss] = []
    false_positives: list[Miss] = []
    for g in sample.gold:
        own = [(s, e) for k, s, e in findings if k is g.kind]
        found = _covered(g.start, g.end, sample.text, own)
        hidden = _covered(g.start, g.end, sample.text, ((s, e) for _, s, e in findings))
        kinds[g.kind] = kinds.get(g.kind, KindScore()).plus(KindScore(gold=1, found=int(found), hidden=int(hidden)))
        if not found:
            misses.append(Miss(template_id=sample.template_id, kind=g.kind.value, value=g.value, text=sample.text))
    for kind, start, end in findings:
        if kind in BUSINESS_REFERENCE_KINDS:
            continue
        correct = any(g.kind is kind and _overlaps((start, end), (g.start, g.end)) for g in sample.gold)
        kinds[kind] = kinds.get(kind, KindScore()).plus(KindScore(predicted=1, correct=int(correct)))
        if not correct:
            false_positives.append(
                Miss(template_id=sample.template_id, kind=kind.value, value=sample.text[start:end], text=sample.text)
            )
    lookalikes: dict[DistractorKind, LookalikeScore] = {}
    for d in sample.distractors:
        hits = [k for k, s, e in findings if _overlaps((s, e), (d.start, d.end))]
        personal = any(k not in BUSINESS_REFERENCE_KINDS for k in hits)
        reference = any(k in BUSINESS_REFERENCE_KINDS for k in hits)
        before = lookalikes.get(d.kind, LookalikeScore())
        lookalikes[d.kind] = LookalikeScore(
            total=before.total + 1,
            touched_as_personal=before.touched_as_personal + int(personal),
            touched_as_reference=before.touched_as_reference + int(reference),
        )
    return kinds, misses, false_positives, lookalikes


def score(samples: Sequence[Sample], find: Callable[[str], Sequence[Finding]]) -> Score:
    """Score `find` (e.g. `Redactor().find`) on `samples`."""
    by_kind: dict[PiiKind, KindScore] = {}
    by_language: dict[str, dict[PiiKind, KindScore]] = {}
    lookalikes: dict[DistractorKind, LookalikeScore] = {}
    misses: list[Miss] = []
    false_positives: list[Miss] = []
    for sample in samples:
        kinds, missed, wrong, looks = _score_one(sample, find(sample.text))
        language = by_language.setdefault(sample.language, {})
        for kind, value in kinds.items():
            by_kind[kind] = by_kind.get(kind, KindScore()).plus(value)
            language[kind] = language.get(kind, KindScore()).plus(value)
        for look_kind, look in looks.items():
            before = lookalikes.get(look_kind, LookalikeScore())
            lookalikes[look_kind] = LookalikeScore(
                total=before.total + look.total,
                touched_as_personal=before.touched_as_personal + look.touched_as_personal,
                touched_as_reference=before.touched_as_reference + look.touched_as_reference,
            )
        misses += missed
        false_positives += wrong
    return Score(
        by_kind=by_kind,
        by_language=by_language,
        lookalikes=lookalikes,
        misses=tuple(misses),
        false_positives=tuple(false_positives),
    )
