from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from understanding.errors import ModelArtifactError
from understanding.sentiment import SHIPPED_MODEL_DIR, SentimentLabel, analyze_sentiment, shipped_model
from understanding.sentiment_artifact import ARRAYS_FILE, MODEL_FILE, load_sentiment_model, save_sentiment_model
from understanding.sentiment_cli import sentiment_app
from understanding.sentiment_data import load_training_sets, package_data
from understanding.sentiment_model import SentimentModel, SentimentTrainConfig, train_sentiment_model

runner = CliRunner()

ANGRY = [
    "Das ist eine Unverschämtheit, ich bin stinksauer auf Ihren Laden!",
    "Ihr seid eine Abzocke, ich gehe jetzt zum Anwalt!",
    "This is ridiculous, I am furious about your service!!",
    "You are incompetent liars and I hate this company.",
]
NEUTRAL = [
    "Wo ist meine Bestellung 10023?",
    "Where is my order 10023?",
    "Kann ich meine Bankverbindung ändern?",
    "How can I change my bank details?",
    "Wann zahle ich die Rechnung?",
]


# --- the shipped model -------------------------------------------------------------------------
@pytest.mark.parametrize("text", ANGRY)
def test_angry_messages_score_high_anger_and_negative(text: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == SentimentLabel.NEGATIVE
    assert result.anger >= 0.7 > analyze_sentiment("Where is my order?").anger


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_questions_are_neutral_and_calm(text: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == SentimentLabel.NEUTRAL
    # below the default policy's escalation thresholds (anger 0.7, frustration 0.8) with margin
    assert result.anger < 0.3 and result.frustration < 0.3 and result.urgency < 0.2


def test_thanks_are_positive() -> None:
    for text in ("Vielen Dank, das war eine große Hilfe!", "Thanks a lot, that solved it."):
        assert analyze_sentiment(text).label == SentimentLabel.POSITIVE


def test_urgency_follows_the_documented_rules() -> None:
    calm = analyze_sentiment("Can you send me the invoice?").urgency
    for text in (
        "Bitte sofort zurückrufen!",
        "I need this NOW",
        "Please send it by Friday, it is urgent",
        "This is the third time I write about this and it is urgent",
    ):
        assert analyze_sentiment(text).urgency >= 0.5 > calm


def test_scores_are_calibrated_probabilities() -> None:
    for text in [*ANGRY, *NEUTRAL, "ok"]:
        result = analyze_sentiment(text)
        scores = result.scores.model_dump().values()
        assert all(0.0 <= v <= 1.0 for v in scores) and abs(sum(scores) - 1.0) < 1e-3
        assert abs(result.compound - (result.scores.positive - result.scores.negative)) < 1e-3
        assert all(0.0 <= v <= 1.0 for v in result.emotions.values())
        assert set(result.emotions) == {"anger", "frustration", "urgency"}


def test_blank_text_is_neutral_and_calm() -> None:
    result = analyze_sentiment("   ")
    assert result.label == SentimentLabel.NEUTRAL and result.anger == result.urgency == 0.0


def test_shipped_model_is_small_loaded_once_and_calibrated_on_dev() -> None:
    size = sum(f.stat().st_size for f in SHIPPED_MODEL_DIR.iterdir())
    assert size < 5_000_000
    assert shipped_model() is shipped_model()
    metadata = shipped_model().metadata
    assert 0.05 < metadata.temperature < 20 and metadata.negative_weight >= 1.0
    assert set(metadata.platt) == {"anger", "frustration"}
    assert not any("test" in source for source in metadata.sources)


def test_shipped_model_beats_the_majority_class_on_the_support_check_set() -> None:
    result = runner.invoke(
        sentiment_app, ["eval", "--data", str(package_data("sentiment_support_check.csv")), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] >= 120 and set(report["per_label"]) == {"negative", "neutral", "positive"}
    assert report["macro_f1"] > report["majority_macro_f1"] + 0.2
    assert report["accuracy"] > report["majority_accuracy"]


# --- training, the artifact and the CLI on small synthetic corpora ------------------------------
_TOPICS = ["order", "parcel", "invoice", "app", "hotline", "refund", "contract", "delivery", "account", "claim"]
_DE_TOPICS = [
    "Bestellung",
    "Paket",
    "Rechnung",
    "App",
    "Hotline",
    "Erstattung",
    "Vertrag",
    "Lieferung",
    "Konto",
    "Schaden",
]


def _rows(templates: list[tuple[str, str]], topics: list[str]) -> list[tuple[str, str]]:
    return [(template.format(topic), label) for template, label in templates for topic in topics]


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def _fake_corpora(root: Path) -> Path:
    """The four corpora's layouts with a few hundred template rows (labels as in the real files)."""
    de = _rows(
        [
            ("Die {} ist super, danke!", "positive"),
            ("Die {} ist schrecklich und kaputt.", "negative"),
            ("Die {} kommt am Montag.", "neutral"),
            ("Toll, die {} hat geklappt", "positive"),
            ("Mist, die {} ist wieder falsch", "negative"),
            ("Wo ist die {}?", "neutral"),
        ],
        _DE_TOPICS,
    )
    for split in ("train", "dev", "test"):
        _write(root / "potts_de_sentiment" / f"{split}.csv", de)
    xed_de = _rows(
        [
            ("Ich hasse die {} und bin wütend", "anger"),
            ("Ich freue mich über die {}", "joy"),
            ("Ich habe Angst um die {}", "fear"),
            ("Die {} ist so traurig", "sadness;anger"),
            ("Ich vertraue der {}", "trust"),
        ],
        _DE_TOPICS,
    )
    _write(root / "xed_de_emotion" / "emotions.csv", xed_de)
    xed_en = _rows(
        [
            ("I hate the {} and I am angry", "anger"),
            ("I love the {}", "joy"),
            ("the {} is at home", "neutral"),
            ("what a sad {}", "sadness"),
            ("I trust the {}", "trust"),
            ("my {} is here", "neutral"),
        ],
        _TOPICS,
    )
    _write(root / "xed_en_emotion" / "emotions.csv", xed_en)
    go = _rows(
        [
            ("the {} makes me furious", "anger;annoyance"),
            ("thanks for the {}, great", "gratitude"),
            ("the {} is on the table", "neutral"),
            ("ugh, the {} again, so annoying", "annoyance"),
            ("what a disappointing {}", "disappointment"),
            ("I love this {}", "love"),
            ("is the {} ready?", "neutral"),
        ],
        _TOPICS,
    )
    for split in ("train", "dev", "test"):
        _write(root / "goemotions_en" / "emotions" / f"{split}.csv", go)
    return root


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fake_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.fixture(scope="module")
def small_model(fake_root: Path) -> SentimentModel:
    train, dev = load_training_sets(fake_root, support_seed=False)
    return train_sentiment_model(train, dev, config=SentimentTrainConfig(min_df=1))


def test_trained_model_learns_the_corpora(small_model: SentimentModel) -> None:
    labels = small_model.predict_labels(
        ["Die Rechnung ist schrecklich und kaputt.", "thanks for the order, great", "the parcel is on the table"]
    )
    assert labels == [SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE, SentimentLabel.NEUTRAL]
    _, anger, _ = small_model.probabilities(["the refund makes me furious", "the refund is on the table"])
    assert anger[0] > anger[1]


def test_artifact_round_trips(small_model: SentimentModel, tmp_path: Path) -> None:
    save_sentiment_model(small_model, tmp_path / "m")
    loaded = load_sentiment_model(tmp_path / "m")
    texts = ["Wo ist die Bestellung?", "I hate the app and I am angry", "I love this contract", "ok"]
    assert loaded.metadata == small_model.metadata
    assert loaded.predict_labels(texts) == small_model.predict_labels(texts)
    for a, b in zip(loaded.probabilities(texts), small_model.probabilities(texts), strict=True):
        assert np.allclose(a, b, atol=5e-3)  # weights are stored as float16


@pytest.mark.parametrize("damage", ["arrays", "vocabulary", "metadata", "missing_arrays"])
def test_artifact_refuses_a_tampered_or_incomplete_directory(
    small_model: SentimentModel, tmp_path: Path, damage: str
) -> None:
    directory = save_sentiment_model(small_model, tmp_path / "m")
    document = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    if damage == "arrays":
        blob = bytearray((directory / ARRAYS_FILE).read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (directory / ARRAYS_FILE).write_bytes(bytes(blob))
    elif damage == "vocabulary":
        document["featurizer"]["word_vocabulary"][0] = "tampered"
        (directory / MODEL_FILE).write_text(json.dumps(document), encoding="utf-8")
    elif damage == "metadata":
        document["metadata"]["negative_weight"] = 9.0
        (directory / MODEL_FILE).write_text(json.dumps(document), encoding="utf-8")
    else:
        (directory / ARRAYS_FILE).unlink()
    with pytest.raises(ModelArtifactError, match="checksum|missing") as info:
        load_sentiment_model(directory)
    assert str(directory) in str(info.value) and "glassdesk sentiment train" in str(info.value)


def test_cli_train_with_corrections_then_eval_and_predict(fake_root: Path, tmp_path: Path) -> None:
    corrections = tmp_path / "corrections.csv"
    _write(
        corrections,
        [
            ("Die Hotline ist ja ganz toll, schon wieder keiner da", "negative"),
            ("Kann ich die Rechnung als PDF bekommen?", "neutral"),
        ],
    )
    out = tmp_path / "model"
    result = runner.invoke(
        sentiment_app,
        [
            "train",
            "--out",
            str(out),
            "--data-root",
            str(fake_root),
            "--corrections",
            str(corrections),
            "--no-support-seed",
        ],
    )
    assert result.exit_code == 0, result.output
    metadata = json.loads(result.stdout)
    assert metadata["n_corrections"] == 2 and "potts_de_sentiment/train" in metadata["sources"]
    assert load_sentiment_model(out).metadata.model_id == metadata["model_id"]

    result = runner.invoke(sentiment_app, ["eval", "--model", str(out), "--data", str(corrections), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"macro_f1", "accuracy", "negative_recall", "majority_accuracy", "per_label"} <= set(report)
    assert report["n"] == 2

    result = runner.invoke(sentiment_app, ["predict", "--model", str(out), "I love this contract"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] == "positive"


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2
    stderr = result.stderr.strip()
    assert stderr.startswith("error: ") and "\n" not in stderr
    return stderr


def test_cli_eval_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert str(missing) in _one_line_error(runner.invoke(sentiment_app, ["eval", "--data", str(missing)]))

    bad = tmp_path / "bad.csv"
    _write(bad, [("Wo ist mein Paket?", "neutral"), ("Super!", "happy")])
    message = _one_line_error(runner.invoke(sentiment_app, ["eval", "--data", str(bad)]))
    assert "'happy'" in message and "negative, neutral, positive" in message

    message = _one_line_error(
        runner.invoke(sentiment_app, ["eval", "--data", str(bad), "--model", str(tmp_path / "no-model")])
    )
    assert "no sentiment model" in message and "glassdesk sentiment train" in message


def test_cli_train_errors(tmp_path: Path) -> None:
    message = _one_line_error(
        runner.invoke(sentiment_app, ["train", "--out", str(tmp_path / "m"), "--data-root", str(tmp_path / "no-data")])
    )
    assert "--data-root" in message and str(tmp_path / "no-data") in message

    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert "not a directory" in _one_line_error(runner.invoke(sentiment_app, ["train", "--out", str(a_file)]))

    corrections = tmp_path / "c.csv"
    corrections.write_text("message,label\nhallo,neutral\n", encoding="utf-8")
    message = _one_line_error(
        runner.invoke(sentiment_app, ["train", "--out", str(tmp_path / "m"), "--corrections", str(corrections)])
    )
    assert "'text'" in message and str(corrections) in message
