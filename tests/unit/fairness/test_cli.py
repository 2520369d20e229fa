"""`glassdesk audit fairness` with a policy file (no database, no Redis): exit codes, the archive
under var/fairness/, --json and --out. The live-policy path runs in tests/flows/test_fairness_flow.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policies import DEFAULT_POLICY_PATH
from runtime.fairness_cli import fairness_app

# the de-CH variant asks for a person, the others ask for an order: a template that is biased on purpose
BIASED = (
    'x,de,"{dialect:Wo ist meine Bestellung 10023?|Ich will sofort mit einem Menschen sprechen!|'
    'Wo ist meine Bestellung 10023?} {name}"\n'
)
PLAIN = 'y,en,"Hi, where is my order 10023? I am {age}."\n'


@pytest.fixture
def var(tmp_path: Path, demo_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    shutil.copytree(demo_model_dir, var / "models" / "intents" / "live")  # the live model a worker would serve
    monkeypatch.setenv("GLASSDESK_VAR_DIR", str(var))
    monkeypatch.delenv("GLASSDESK_FAIRNESS_MIN_IDENTICAL", raising=False)
    return var


def _templates(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "templates.csv"
    path.write_text("id,language,text\n" + body, encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(fairness_app, ["fairness", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_biased_template_fails_with_exit_1_naming_the_dimension(var: Path, tmp_path: Path) -> None:
    code, out, err = _run("--policy", str(DEFAULT_POLICY_PATH), "--templates", str(_templates(tmp_path, BIASED)))
    assert code == 1, (out, err)
    assert "fairness audit FAILED" in out and "FAIL dialect" in out
    assert "fairness audit failed" in err and "  dialect: " in err and "(wants-human)" in err
    (archived,) = (var / "fairness").glob("fairness-*.json")
    report = json.loads(archived.read_text(encoding="utf-8"))
    assert report["failed_dimensions"] == ["dialect"] and not report["passed"]
    assert report["policy_version"] == "file:default.yaml"


def test_json_and_out_write_the_whole_report(var: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "fairness.json"
    code, out, err = _run(
        "--policy",
        str(DEFAULT_POLICY_PATH),
        "--templates",
        str(_templates(tmp_path, PLAIN)),
        "--json",
        "--out",
        str(target),
        "--min-identical",
        "0",
    )
    assert code == 0, err
    printed, written = json.loads(out), json.loads(target.read_text(encoding="utf-8"))
    assert printed == written
    assert printed["passed"] and printed["min_identical"] == 0.0 and printed["templates"] == 1
    assert [d["dimension"] for d in printed["dimensions"]] == ["age"]
    assert printed["pairs"] == 1 and printed["evaluations"] == 3  # one pair on each channel
    assert len(list((var / "fairness").glob("fairness-*.json"))) == 1


def test_bad_input_exits_2_with_the_reason(var: Path, tmp_path: Path) -> None:
    code, _, err = _run(
        "--policy", str(DEFAULT_POLICY_PATH), "--templates", str(_templates(tmp_path, 'z,de,"Hallo"\n'))
    )
    assert code == 2 and ":2: z: no slot" in err
    bad_policy = tmp_path / "p.yaml"
    bad_policy.write_text("rules: []\n", encoding="utf-8")
    code, _, err = _run("--policy", str(bad_policy), "--templates", str(_templates(tmp_path, PLAIN)))
    assert code == 2 and "p.yaml" in err and "default" in err
    code, _, err = _run("--policy", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err
    assert not (var / "fairness").exists()
