"""The cheap paths of a turn give the same answers as the plain ones, and the demo model answers
general shop questions (delivery times, payment) as `general_question` with good confidence."""

from __future__ import annotations

import numpy as np
import pytest

from understanding import IntentModel, demo_data_path, load_examples, understand, understand_with_redaction
from understanding.calibration import gibberish
from understanding.demo import DEMO_EVAL_CSV, DEMO_TRAIN_CSV
from understanding.pii import Redactor


def test_featurizer_matches_sklearn_transform_exactly(demo_model: IntentModel) -> None:
    texts = [e.text for name in (DEMO_TRAIN_CSV, DEMO_EVAL_CSV) for e in load_examples(demo_data_path(name))]
    texts += gibberish(50) + ["", "x", "ÄÖÜ ß € 12,50"]
    f = demo_model.featurizer
    for which, vectorizer in enumerate((f._word, f._char)):
        # the featurizer standardises German first (understanding.variants); sklearn gets the same input
        expected, got = vectorizer.transform(f._prepared(texts)).tocsr(), f._tfidf(which, texts)
        assert np.array_equal(expected.indptr, got.indptr) and np.array_equal(expected.indices, got.indices)
        assert expected.dtype == got.dtype and np.array_equal(expected.data, got.data)


def test_understand_with_redaction_returns_the_same_understanding_and_the_redaction(demo_model: IntentModel) -> None:
    text = "Hi, my name is Anna Schmidt, anna@example.org - where is my order 48213?"
    redactor = Redactor()
    u, redacted = understand_with_redaction(text, model=demo_model, redactor=redactor)
    assert u == understand(text, model=demo_model, redactor=redactor)
    assert redacted == redactor.redact(text)
    assert "anna@example.org" not in redacted.text and "anna@example.org" in redacted.mapping.values()
    assert "anna@example.org" not in u.model_dump_json()


@pytest.mark.parametrize(
    "text",
    [
        "How long does delivery take?",
        "Wie lange dauert der Versand?",
        "Which payment methods do you accept?",
        "Was kostet der Versand nach Italien?",
        "Do you ship to France?",
    ],
)
def test_general_shop_questions_are_general_questions(demo_model: IntentModel, text: str) -> None:
    prediction = demo_model.predict(text)
    assert prediction.intent == "general_question" and prediction.confidence >= 0.75


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Where is my order?", "order_status"),
        ("Wie kann ich etwas zurückschicken?", "return_request"),
        ("My parcel never arrived", "delivery_problem"),
        ("Das Paket ist beschädigt angekommen", "delivery_problem"),
        ("Ich habe eine Frage zu meiner Rechnung", "invoice_question"),
    ],
)
def test_existing_labels_keep_their_questions(demo_model: IntentModel, text: str, label: str) -> None:
    assert demo_model.predict(text).intent == label
