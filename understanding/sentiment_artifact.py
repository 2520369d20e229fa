"""Sentiment model directories: `model.json` (metadata, featurizer config, vocabularies) and
`arrays.npz` (numbers only), the same layout as the intent models (`understanding.artifact`).

No pickle: the arrays load with `allow_pickle=False`. `model.json` records the sha256 of `arrays.npz`
and of its own content, so a changed or truncated file is refused with a message saying how to fix it.
The weights are stored as float16 (half the size; predictions differ by far less than the rounding
of the published scores) and computed with in float32.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from understanding.errors import ModelArtifactError
from understanding.sentiment_features import SentimentFeaturizer
from understanding.sentiment_model import SENTIMENT_FORMAT_VERSION, SentimentMetadata, SentimentModel

__all__ = ["save_sentiment_model", "load_sentiment_model", "read_sentiment_metadata", "MODEL_FILE", "ARRAYS_FILE"]

MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
_RETRAIN = "Retrain it with `glassdesk sentiment train --out DIR`"


def _content_hash(document: dict[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "content_sha256"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def save_sentiment_model(model: SentimentModel, directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config, arrays = model.featurizer.export()
    arrays_path = directory / ARRAYS_FILE
    buffer = io.BytesIO()
    arrays = {"weights": model.weights.astype(np.float16), "intercept": model.intercept, **arrays}
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    blob = buffer.getvalue()
    tmp_arrays = directory / (ARRAYS_FILE + ".tmp")
    tmp_arrays.write_bytes(blob)
    document: dict[str, Any] = {
        "metadata": json.loads(model.metadata.model_dump_json()),
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
        "featurizer": config,
    }
    document["content_sha256"] = _content_hash(document)
    tmp_model = directory / (MODEL_FILE + ".tmp")
    tmp_model.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    tmp_arrays.replace(arrays_path)
    tmp_model.replace(directory / MODEL_FILE)
    return directory


def _read_document(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise ModelArtifactError(f"{path}: no sentiment model here. {_RETRAIN}, or pass the right --model DIR.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{path}: corrupt model file ({exc}). {_RETRAIN}.") from None
    if not isinstance(document, dict):
        raise ModelArtifactError(f"{path}: not a model file (expected a JSON object). {_RETRAIN}.")
    if document.get("content_sha256") != _content_hash(document):
        raise ModelArtifactError(f"{path}: content does not match its checksum (edited or damaged). {_RETRAIN}.")
    version = (document.get("metadata") or {}).get("format_version")
    if version != SENTIMENT_FORMAT_VERSION:
        raise ModelArtifactError(
            f"{path}: sentiment model format version {version!r}, this code reads "
            f"{SENTIMENT_FORMAT_VERSION}. {_RETRAIN}."
        )
    return document


def _metadata(document: dict[str, Any], directory: Path) -> SentimentMetadata:
    try:
        return SentimentMetadata.model_validate(document["metadata"])
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ModelArtifactError(f"{Path(directory) / MODEL_FILE}: metadata invalid at {fields}. {_RETRAIN}.") from None


def read_sentiment_metadata(directory: Path) -> SentimentMetadata:
    return _metadata(_read_document(directory), directory)


def load_sentiment_model(directory: Path) -> SentimentModel:
    directory = Path(directory)
    document = _read_document(directory)
    metadata = _metadata(document, directory)
    arrays_path = directory / ARRAYS_FILE
    if not arrays_path.is_file():
        raise ModelArtifactError(f"{arrays_path}: missing; the model directory is incomplete. {_RETRAIN}.")
    blob = arrays_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != document.get("arrays_sha256"):
        raise ModelArtifactError(
            f"{arrays_path}: checksum does not match {MODEL_FILE} (edited or damaged). {_RETRAIN}."
        )
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        featurizer = SentimentFeaturizer.restore(document["featurizer"], arrays, where=str(directory / MODEL_FILE))
        return SentimentModel(
            featurizer=featurizer, weights=arrays["weights"], intercept=arrays["intercept"], metadata=metadata
        )
    except (KeyError, ValueError, OSError) as exc:
        raise ModelArtifactError(f"{arrays_path}: unreadable model arrays ({exc}). {_RETRAIN}.") from None
