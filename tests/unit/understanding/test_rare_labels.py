"""Labels with one or two examples: accepted, warned about, and kept out of calibration."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from understanding import DataError, LabelledExample, load_model, train_intent_model
from understanding.cli import intents_app
from understanding.dataset import rare_labels, validate_for_training
from understanding.validation import make_folds

runner = CliRunner()

GERMAN = [
    ("Wo ist meine Bestellung?", "bestellstatus"),
    ("Wann kommt mein Paket an?", "bestellstatus"),
    ("Ist die Sendung schon unterwegs?", "bestellstatus"),
    ("Status meiner Lieferung bitte", "bestellstatus"),
    ("Mein Paket ist noch nicht angekommen", "bestellstatus"),
    ("Lieferung verfolgen", "bestellstatus"),
    ("Ich möchte den Artikel zurückschicken", "ruecksendung"),
    ("Wie funktioniert die Rücksendung?", "ruecksendung"),
    ("Ich brauche einen Retourenschein", "ruecksendung"),
    ("Ware zurückgeben bitte", "ruecksendung"),
    ("Umtausch der Schuhe", "ruecksendung"),
    ("Rückgabe starten", "ruecksendung"),
    ("Frage zu meiner Rechnung", "rechnung"),
    ("Die Rechnung wurde doppelt abgebucht", "rechnung"),
    ("Der Rechnungsbetrag stimmt nicht", "rechnung"),
    ("Bitte eine Kopie der Rechnung schicken", "rechnung"),
    ("Ich habe eine Mahnung erhalten", "rechnung"),
    ("Zahlung wurde nicht verbucht", "rechnung"),
    ("Passwort vergessen", "zugang"),
    ("Ich kann mich nicht einloggen", "zugang"),
    ("Konto nach dem Login gesperrt", "zugang"),
    ("Zugangsdaten zurücksetzen", "zugang"),
    ("Anmeldung funktioniert nicht", "zugang"),
    ("Neues Passwort anfordern", "zugang"),
    ("Ich möchte meinen Datenschutzbeauftragten sprechen", "datenschutz_auskunft"),  # one example only
    ("Gutschein einlösen", "gutschein"),
    ("Mein Gutscheincode funktioniert nicht", "gutschein"),  # two
]


def _examples(rows: list[tuple[str, str]]) -> list[LabelledExample]:
    return [LabelledExample(text=text, label=label) for text, label in rows]


def test_cli_trains_a_german_file_with_a_one_example_label(tmp_path: Path, write_csv: Callable[..., Path]) -> None:
    data = write_csv(tmp_path / "tickets.csv", GERMAN)
    out = tmp_path / "model"
    result = runner.invoke(intents_app, ["train", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "'datenschutz_auskunft' has only 1 example;" in warnings[0] and str(data) in warnings[0]
    assert "'gutschein' has only 2 examples;" in warnings[1]
    metadata = json.loads(result.stdout)
    assert metadata["rare_labels"] == {"datenschutz_auskunft": 1, "gutschein": 2}
    assert len(metadata["warnings"]) == 2 and "datenschutz_auskunft" in metadata["warnings"][0]
    model = load_model(out)
    assert "datenschutz_auskunft" in model.labels
    assert model.metadata.rare_labels == {"datenschutz_auskunft": 1, "gutschein": 2}
    assert model.predict("Ich möchte meinen Datenschutzbeauftragten sprechen").best_guess == "datenschutz_auskunft"
    assert model.predict("Wo ist meine Bestellung gerade?").intent == "bestellstatus"


def test_rare_labels_are_in_every_fit_set_and_no_validation_set() -> None:
    y = np.array([0] * 10 + [1] * 10 + [2] + [3, 3])
    for k in (5, 1):
        folds = make_folds(y, k=k, fraction=0.2, seed=1, train_only=frozenset({2, 3}))
        assert folds
        for fold in folds:
            assert set(y[fold.val_idx]) <= {0, 1}
            assert {20, 21, 22} <= set(fold.fit_idx.tolist())


def test_calibration_ignores_the_rare_labels() -> None:
    """The validation figures of a model with rare labels come from the other labels alone."""
    with_rare = train_intent_model(_examples(GERMAN))
    common = train_intent_model(_examples([r for r in GERMAN if r[1] not in {"datenschutz_auskunft", "gutschein"}]))
    assert with_rare.metadata.metrics["val_folds"] == common.metadata.metrics["val_folds"] == 5
    # 5-fold: every row of the common labels is validated once; the three rare rows never are
    assert with_rare.metadata.metrics["val_examples"] == common.metadata.metrics["val_examples"] == len(GERMAN) - 3
    assert with_rare.metadata.labels == sorted({label for _, label in GERMAN})
    assert with_rare.metadata.threshold_method == common.metadata.threshold_method


def test_validate_returns_one_warning_per_rare_label_and_still_needs_two_labels() -> None:
    examples = _examples(GERMAN)
    assert rare_labels(examples) == {"datenschutz_auskunft": 1, "gutschein": 2}
    warnings = validate_for_training(examples, source="tickets.csv")
    assert [w.split("'")[1] for w in warnings] == ["datenschutz_auskunft", "gutschein"]
    assert all(w.startswith("tickets.csv: label ") and "Add more examples" in w for w in warnings)
    with pytest.raises(DataError, match="only one label"):
        validate_for_training(_examples([("Hallo", "gruss"), ("Hi", "gruss")]))


def test_data_where_every_label_is_rare_still_trains_with_a_warning() -> None:
    model = train_intent_model(
        _examples(
            [("Paket verfolgen", "lieferung"), ("Wo ist mein Paket", "lieferung"), ("Rechnung anfordern", "rechnung")]
        )
    )
    assert model.metadata.rare_labels == {"lieferung": 2, "rechnung": 1}
    assert any("no label has 3 or more examples" in w for w in model.metadata.warnings)
    assert model.metadata.threshold_method is None
    assert model.predict("Rechnung anfordern bitte").best_guess == "rechnung"
