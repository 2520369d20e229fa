from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understanding.cli import intents_app, pii_app

runner = CliRunner()

SMALL = [
    ("where is my order", "order_status"),
    ("wo ist meine bestellung", "order_status"),
    ("has my order shipped", "order_status"),
    ("status of my order please", "order_status"),
    ("when does my order arrive", "order_status"),
    ("bestellung schon verschickt?", "order_status"),
    ("I want to return this", "return_request"),
    ("ich möchte das zurückschicken", "return_request"),
    ("how do I send it back", "return_request"),
    ("return label please", "return_request"),
    ("refund for the shoes I return", "return_request"),
    ("rücksendung starten", "return_request"),
    ("hello", "small_talk"),
    ("hallo", "small_talk"),
    ("thanks a lot", "small_talk"),
    ("danke schön", "small_talk"),
    ("good morning", "small_talk"),
    ("guten morgen", "small_talk"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, write_csv) -> Path:
    root = tmp_path_factory.mktemp("cli")
    data = write_csv(root / "train.csv", SMALL)
    out = root / "model"
    result = runner.invoke(intents_app, ["train", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_examples"] == len(SMALL)
    return out


def test_predict_prints_the_three_contract_keys(trained: Path) -> None:
    result = runner.invoke(intents_app, ["predict", "--model", str(trained), "where is my order?"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"intent", "confidence", "out_of_scope"}
    assert payload["intent"] == "order_status" and payload["out_of_scope"] is False
    assert 0.0 <= payload["confidence"] <= 1.0


def test_eval_json_without_and_with_oos_label(trained: Path, tmp_path: Path, write_csv) -> None:
    test = write_csv(
        tmp_path / "test.csv",
        [
            ("where is my order now", "order_status"),
            ("I'd like to return it", "return_request"),
            ("hi there", "small_talk"),
            ("zxqv wplk", "out_of_scope"),
        ],
    )
    result = runner.invoke(intents_app, ["eval", "--model", str(trained), "--data", str(test), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "n", "per_label"} <= set(payload)
    assert payload["n"] == 4 and "oos_recall" not in payload
    result = runner.invoke(
        intents_app, ["eval", "--model", str(trained), "--data", str(test), "--oos-label", "out_of_scope", "--json"]
    )
    payload = json.loads(result.stdout)
    assert {"in_scope_accuracy", "oos_recall", "oos_precision"} <= set(payload)
    assert payload["oos_recall"] == 1.0  # the gibberish row shares no word with the training data
    assert payload["per_label"]["order_status"]["support"] == 1


def test_custom_columns(tmp_path: Path, write_csv) -> None:
    data = write_csv(tmp_path / "d.csv", SMALL, header=("utterance", "intent"))
    result = runner.invoke(
        intents_app,
        [
            "train",
            "--data",
            str(data),
            "--text-col",
            "utterance",
            "--label-col",
            "intent",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"sentence,intent\nhello,greet\n", ["missing column", "'text'", "'label'", "'sentence', 'intent'"]),
        (b"", ["empty"]),
        (b"text,label\n", ["no data rows"]),
        ("text,label\nGrüße,greet\n".encode("latin-1"), ["not valid UTF-8", ":2:"]),
        (b"text,label\nhello,greet\nhi,\n", ["empty 'label'", ":3:"]),
        (b"text,label\nhello,greet\nhi,greet\n", ["only one label"]),
    ],
)
def test_bad_csv_exits_2_with_a_actionable_message(tmp_path: Path, content: bytes, expected: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = runner.invoke(intents_app, ["train", "--data", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert str(path) in result.stderr
    for fragment in expected:
        assert fragment in result.stderr
    assert not (tmp_path / "m").exists()


def test_missing_model_dir_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(intents_app, ["predict", "--model", str(tmp_path / "none"), "hello"])
    assert result.exit_code == 2 and "intents train" in result.stderr


def test_pii_redact_plain_json_and_stdin() -> None:
    result = runner.invoke(pii_app, ["redact", "Mail anna@example.com please"])
    assert result.exit_code == 0 and result.stdout.strip() == "Mail [EMAIL_1] please"
    result = runner.invoke(pii_app, ["redact", "--json", "-"], input="IBAN DE89 3704 0044 0532 0130 00")
    payload = json.loads(result.stdout)
    assert payload["text"] == "IBAN [IBAN_1]"
    assert payload["entities"] == [{"kind": "IBAN", "start": 5, "end": 32, "placeholder": "[IBAN_1]"}]
    assert "DE89" not in result.stdout


def test_pii_bad_region_exits_2() -> None:
    result = runner.invoke(pii_app, ["redact", "--region", "XX", "hi"])
    assert result.exit_code == 2 and "'XX'" in result.stderr
