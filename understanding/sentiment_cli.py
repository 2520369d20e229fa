"""The Typer app mounted as `glassdesk sentiment ...`: train, eval and predict.

Bad input exits with code 2 and one line on stderr that says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from understanding.errors import DataError, UnderstandingError
from understanding.sentiment import SHIPPED_MODEL_DIR, analyze_sentiment
from understanding.sentiment_artifact import load_sentiment_model, save_sentiment_model
from understanding.sentiment_data import DEFAULT_DATA_ROOT, load_labelled_csv, load_training_sets
from understanding.sentiment_eval import evaluate_sentiment
from understanding.sentiment_model import SentimentTrainConfig, train_sentiment_model

__all__ = ["sentiment_app"]

sentiment_app = typer.Typer(
    help="Train, evaluate and run the sentiment and emotion model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@sentiment_app.callback()
def _sentiment() -> None:
    """Sentiment (negative/neutral/positive) with anger, frustration and urgency."""


def _fail(error: Exception) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=2)


def _print_json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


@sentiment_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model to.")],
    data_root: Annotated[
        Path,
        typer.Option(
            "--data-root", help="Folder holding potts_de_sentiment, xed_de_emotion, xed_en_emotion and goemotions_en."
        ),
    ] = DEFAULT_DATA_ROOT,
    corrections: Annotated[
        Path | None,
        typer.Option(
            "--corrections", help="Extra CSV of corrected examples (text,label with negative/neutral/positive)."
        ),
    ] = None,
    support_seed: Annotated[
        bool,
        typer.Option(
            "--support-seed/--no-support-seed",
            help="Add the bundled demo customer requests as neutral/negative examples.",
        ),
    ] = True,
) -> None:
    """Train on the shared corpora (+ corrections), calibrate on their dev splits, save to DIR; prints
    the model metadata as JSON."""
    try:
        if out.exists() and not out.is_dir():
            raise DataError(f"{out}: exists and is not a directory. Pass --out with a new or model directory.")
        extra = load_labelled_csv(corrections, source="corrections") if corrections is not None else []
        train, dev = load_training_sets(data_root, support_seed=support_seed)
        model = train_sentiment_model(train, dev, config=SentimentTrainConfig(), corrections=extra)
        save_sentiment_model(model, out)
    except UnderstandingError as error:
        _fail(error)
    _print_json(json.loads(model.metadata.model_dump_json()))


@sentiment_app.command("eval")
def eval_command(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV (text,label with negative/neutral/positive).")],
    model_dir: Annotated[
        Path, typer.Option("--model", help="Model directory (default: the shipped model).")
    ] = SHIPPED_MODEL_DIR,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    label_col: Annotated[str, typer.Option("--label-col")] = "label",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate a model: macro-F1, accuracy, negative recall, per-label scores, majority baseline."""
    try:
        model = load_sentiment_model(model_dir)
        report = evaluate_sentiment(model, load_labelled_csv(data, text_col=text_col, label_col=label_col))
    except UnderstandingError as error:
        _fail(error)
    if as_json:
        _print_json(report.model_dump(mode="json"))
        return
    typer.echo(
        f"n={report.n} macro_f1={report.macro_f1:.4f} accuracy={report.accuracy:.4f} "
        f"negative_recall={report.negative_recall:.4f} (always {report.majority_label.value}: "
        f"accuracy={report.majority_accuracy:.4f} macro_f1={report.majority_macro_f1:.4f})"
    )
    for label, scores in report.per_label.items():
        typer.echo(
            f"  {label:10s} p={scores.precision:.3f} r={scores.recall:.3f} f1={scores.f1:.3f} n={scores.support}"
        )


@sentiment_app.command("predict")
def predict_command(
    text: Annotated[str, typer.Argument(help="The message; '-' reads stdin.")],
    model_dir: Annotated[
        Path, typer.Option("--model", help="Model directory (default: the shipped model).")
    ] = SHIPPED_MODEL_DIR,
) -> None:
    """Print the sentiment of one message as JSON (label, compound, scores, anger, frustration, urgency)."""
    message = sys.stdin.read() if text == "-" else text
    try:
        result = analyze_sentiment(message, model=load_sentiment_model(model_dir))
    except UnderstandingError as error:
        _fail(error)
    _print_json(result.model_dump(mode="json"))
