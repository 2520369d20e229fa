from __future__ import annotations

import csv
import random
from pathlib import Path

from understanding import (
    LabelledExample,
    RetrainDecision,
    SentimentLabel,
    load_examples,
    load_model,
    read_metadata,
    retrain,
    save_model,
    train_intent_model,
    understand,
)
from understanding.intents import IntentModel
from understanding.pii import PiiKind


def _subset_csv(source: Path, target: Path, keep: float, seed: int = 3) -> tuple[Path, list[LabelledExample]]:
    examples = load_examples(source)
    rng = random.Random(seed)
    by_label: dict[str, list[LabelledExample]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    kept, rest = [], []
    for group in by_label.values():
        rng.shuffle(group)
        n = max(2, int(len(group) * keep))
        kept += group[:n]
        rest += group[n:]
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((e.text, e.label) for e in kept)
    return target, rest


def test_retrain_refuses_a_worse_candidate(
    demo_model: IntentModel, demo_train_csv: Path, demo_eval_csv: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live"
    save_model(demo_model, live)
    before = read_metadata(live).model_id
    labels = sorted(set(demo_model.labels))
    poisoned = [
        LabelledExample(text=e.text, label=labels[(labels.index(e.label) + 1) % len(labels)])
        for e in load_examples(demo_train_csv)
    ] * 2
    report = retrain(
        base_data=demo_train_csv,
        feedback=poisoned,
        eval_data=demo_eval_csv,
        live_model_dir=live,
        out_root=tmp_path / "candidates",
    )
    assert report.decision == RetrainDecision.REFUSED
    assert report.candidate.accuracy < report.live.accuracy
    assert "live model kept" in report.reason
    assert read_metadata(live).model_id == before
    assert (report.candidate_dir / "model.json").is_file()


def test_retrain_promotes_a_better_candidate(demo_train_csv: Path, demo_eval_csv: Path, tmp_path: Path) -> None:
    base, rest = _subset_csv(demo_train_csv, tmp_path / "base.csv", keep=0.2)
    live = tmp_path / "live"
    save_model(train_intent_model(load_examples(base)), live)
    old_id = read_metadata(live).model_id
    report = retrain(
        base_data=base, feedback=rest, eval_data=demo_eval_csv, live_model_dir=live, out_root=tmp_path / "candidates"
    )
    assert report.decision == RetrainDecision.PROMOTED, report.reason
    assert report.candidate.accuracy >= report.live.accuracy
    assert read_metadata(live).model_id == report.candidate_model_id != old_id
    assert report.replaced_model_dir is not None and read_metadata(report.replaced_model_dir).model_id == old_id
    assert load_model(live).metadata.n_examples == report.n_base + report.n_feedback


def test_understand_facade(demo_model: IntentModel) -> None:
    result = understand(
        "Ich warte seit 3 Wochen auf Bestellung 55123, das ist eine Frechheit! "
        "Ich will sofort einen Mitarbeiter sprechen. Mail: kai@example.de",
        model=demo_model,
    )
    assert result.language == "de" and result.language_confidence > 0.5
    assert result.sentiment == SentimentLabel.NEGATIVE
    assert result.asked_for_human
    assert set(result.pii_kinds) == {PiiKind.EMAIL, PiiKind.ORDER_NUMBER}
    assert result.emotions["anger"] > 0.5 and result.emotions["urgency"] > 0.5
    assert "kai@example.de" not in result.model_dump_json() and "55123" not in result.model_dump_json()
    calm = understand("Where is my order?", model=demo_model)
    assert calm.intent == "order_status" and not calm.asked_for_human and calm.language == "en"
