"""Model directories: `model.json` (metadata + featurizer config) and `arrays.npz` (numbers only).

No pickle anywhere: arrays load with `allow_pickle=False`, and the sklearn vectorizers are rebuilt
from their vocabularies and idf vectors.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from understanding.e5 import ALL_ENCODER_VARIANTS
from understanding.embeddings import LEGACY_ENCODER_VARIANT
from understanding.errors import ModelArtifactError
from understanding.features import Featurizer
from understanding.intents import FORMAT_VERSION, IntentModel, ModelMetadata
from understanding.oos import NeighbourIndex, OosScore

__all__ = ["save_model", "load_model", "read_metadata", "MODEL_FILE", "ARRAYS_FILE"]

MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"


def save_model(model: IntentModel, directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config, arrays = model.featurizer.export()
    neighbours_config: dict[str, Any] | None = None
    if model.neighbours is not None:
        neighbours_config, neighbour_arrays = model.neighbours.export()
        arrays = {**arrays, **neighbour_arrays}
    arrays_path = directory / ARRAYS_FILE
    np.savez_compressed(arrays_path, weights=model.weights, intercept=model.intercept, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
    document = {
        "metadata": json.loads(model.metadata.model_dump_json()),
        "arrays_sha256": hashlib.sha256(arrays_path.read_bytes()).hexdigest(),
        "featurizer": config,
        "neighbours": neighbours_config,
    }
    tmp = directory / (MODEL_FILE + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    tmp.replace(directory / MODEL_FILE)
    return directory


def _read_document(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise ModelArtifactError(
            f"{path}: no model here. Train one with `glassdesk intents train --data FILE.csv --out {directory}`."
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{path}: corrupt model file ({exc}). Retrain the model.") from None
    if not isinstance(document, dict):
        raise ModelArtifactError(f"{path}: not a model document (a JSON object is expected). Retrain the model.")
    version = document.get("metadata", {}).get("format_version")
    if version != FORMAT_VERSION:
        raise ModelArtifactError(
            f"{path}: model format version {version!r}, this code reads {FORMAT_VERSION}. Retrain the model."
        )
    return document


def _metadata(document: dict[str, Any], directory: Path) -> ModelMetadata:
    try:
        return ModelMetadata.model_validate(document["metadata"])
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ModelArtifactError(
            f"{Path(directory) / MODEL_FILE}: metadata invalid at {fields}. Retrain the model."
        ) from None


def read_metadata(directory: Path) -> ModelMetadata:
    return _metadata(_read_document(directory), directory)


def _check_encoder(metadata: ModelMetadata, featurizer: dict[str, Any], directory: Path, expected: str | None) -> None:
    """Embeddings of different encoder variants are not interchangeable: refuse a model whose recorded
    variant this code cannot reproduce, or that differs from the variant the caller asked for."""
    path = Path(directory) / MODEL_FILE
    if not metadata.use_embeddings:
        return
    variant = metadata.encoder_variant or LEGACY_ENCODER_VARIANT  # models from before variants: fp32
    if variant not in ALL_ENCODER_VARIANTS:
        raise ModelArtifactError(
            f"{path}: trained with sentence-encoder variant {variant!r}, but this code provides only "
            f"{', '.join(ALL_ENCODER_VARIANTS)}; predictions would use different embeddings. Retrain the model."
        )
    stored = featurizer.get("encoder_variant") or LEGACY_ENCODER_VARIANT
    if stored != variant:
        raise ModelArtifactError(
            f"{path}: metadata says encoder variant {variant!r} but the featurizer says {stored!r}. Retrain the model."
        )
    if expected is not None and expected != variant:
        raise ModelArtifactError(
            f"{path}: trained with sentence-encoder variant {variant!r}, not the requested {expected!r}; "
            f"embeddings of the two are not interchangeable. Retrain with encoder_variant={expected!r}."
        )


def load_model(directory: Path, *, encoder_variant: str | None = None) -> IntentModel:
    """Load a model; `encoder_variant`, if given, must match the variant the model was trained with."""
    directory = Path(directory)
    document = _read_document(directory)
    arrays_path = directory / ARRAYS_FILE
    if not arrays_path.is_file():
        raise ModelArtifactError(f"{arrays_path}: missing. The model directory is incomplete; retrain the model.")
    blob = arrays_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != document.get("arrays_sha256"):
        raise ModelArtifactError(f"{arrays_path}: checksum does not match {MODEL_FILE}. Retrain the model.")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    metadata = _metadata(document, directory)
    _check_encoder(metadata, document["featurizer"], directory, encoder_variant)
    featurizer = Featurizer.restore(document["featurizer"], arrays)
    neighbours = None
    if metadata.oos_score is OosScore.CONFIDENCE_NEIGHBOURS:
        try:
            neighbours = NeighbourIndex.restore(document["neighbours"], arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(
                f"{directory / MODEL_FILE}: the out-of-scope neighbour index is missing or invalid ({exc!r}). "
                "Retrain the model."
            ) from None
    return IntentModel(
        featurizer=featurizer,
        weights=arrays["weights"],
        intercept=arrays["intercept"],
        metadata=metadata,
        neighbours=neighbours,
    )
