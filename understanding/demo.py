"""The bundled German/English demo intents (e-commerce + insurance), trained on demand."""

from __future__ import annotations

from pathlib import Path

from understanding.artifact import MODEL_FILE, load_model, read_metadata, save_model
from understanding.dataset import data_hash, load_examples
from understanding.errors import ModelArtifactError
from understanding.intents import TrainConfig, train_intent_model

__all__ = ["DEMO_TRAIN_CSV", "DEMO_EVAL_CSV", "SENTIMENT_EVAL_CSV", "demo_data_path", "ensure_demo_model"]

DEMO_TRAIN_CSV = "demo_intents.csv"
DEMO_EVAL_CSV = "demo_intents_eval.csv"
SENTIMENT_EVAL_CSV = "sentiment_eval.csv"


def demo_data_path(name: str) -> Path:
    return Path(__file__).resolve().parent / "data" / name


def ensure_demo_model(directory: Path) -> Path:
    """Return a directory holding the demo model, training it (about a second) if it is absent,
    unreadable, or was trained on different demo data."""
    directory = Path(directory)
    examples = load_examples(demo_data_path(DEMO_TRAIN_CSV))
    if (directory / MODEL_FILE).is_file():
        try:
            if read_metadata(directory).data_hash == data_hash(examples):
                load_model(directory)
                return directory
        except ModelArtifactError:
            pass
    save_model(train_intent_model(examples, TrainConfig()), directory)
    return directory
