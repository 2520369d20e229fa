from __future__ import annotations

import csv

import pytest

from understanding import SentimentLabel, analyze_sentiment, demo_data_path


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Vielen Dank, das hat super geklappt!", SentimentLabel.POSITIVE),
        ("Thanks, great service!", SentimentLabel.POSITIVE),
        ("Das ist nicht gut.", SentimentLabel.NEGATIVE),
        ("This is not good at all.", SentimentLabel.NEGATIVE),
        ("Ich möchte meine Adresse ändern.", SentimentLabel.NEUTRAL),
        ("I would like to change my address.", SentimentLabel.NEUTRAL),
        ("Ich bin total enttäuscht.", SentimentLabel.NEGATIVE),
        ("Not bad, actually quite helpful.", SentimentLabel.POSITIVE),
    ],
)
def test_labels(text: str, label: SentimentLabel) -> None:
    assert analyze_sentiment(text).label == label


def test_emotions_rise_with_anger_frustration_urgency() -> None:
    calm = analyze_sentiment("Could you tell me the status of my claim?")
    angry = analyze_sentiment("This is UNACCEPTABLE!!! What a disgrace, I'm furious.")
    stuck = analyze_sentiment("Ich warte schon wieder seit Wochen und immer noch keine Antwort.")
    urgent = analyze_sentiment("Bitte dringend, ich brauche das sofort!")
    assert calm.anger < 0.2 and calm.frustration < 0.2 and calm.urgency < 0.2
    assert angry.anger > 0.7 > calm.anger
    assert stuck.frustration > 0.7
    assert urgent.urgency > 0.7
    for result in (calm, angry, stuck, urgent):
        assert all(0.0 <= v <= 1.0 for v in result.emotions.values())
        assert abs(sum(result.scores.model_dump().values()) - 1.0) < 1e-3


@pytest.mark.parametrize(("name", "size"), [("sentiment_eval.csv", 60), ("sentiment_eval_blind.csv", 40)])
def test_eval_set_accuracy(name: str, size: int) -> None:
    with demo_data_path(name).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    correct = sum(analyze_sentiment(r["text"]).label == r["label"] for r in rows)
    assert len(rows) == size and correct / len(rows) >= 0.85
