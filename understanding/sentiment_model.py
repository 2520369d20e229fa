"""The trainable sentiment model: one linear layer over `SentimentFeaturizer` features with five
output columns - three for negative/neutral/positive, one each for anger and frustration.

Training (`train_sentiment_model`) fits linear SVMs on the train splits of the public corpora (plus
optional corrections), then fits everything that turns raw scores into the published numbers on the
dev splits only: the softmax temperature, Platt scaling of the anger and frustration heads, and the
weight on P(negative) used by the label rule. Urgency is rule-based (`sentiment_lexicon.rule_urgency`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.svm import LinearSVC

from understanding.calibration import fit_temperature, softmax
from understanding.dataset import LabelledExample, data_hash
from understanding.errors import DataError
from understanding.sentiment_calibration import (
    decide,
    fit_platt,
    macro_f1,
    negative_recall,
    roc_auc,
    sigmoid,
    tune_negative_weight,
)
from understanding.sentiment_data import SentimentExample
from understanding.sentiment_features import SentimentFeaturizer
from understanding.sentiment_lexicon import lexicon_signals, rule_anger, rule_frustration, rule_urgency
from understanding.sentiment_types import Sentiment, SentimentLabel, SentimentScores
from understanding.variants import standardise

__all__ = [
    "SentimentTrainConfig",
    "SentimentMetadata",
    "SentimentModel",
    "train_sentiment_model",
    "SENTIMENT_FORMAT_VERSION",
    "LABELS",
    "HEADS",
]

SENTIMENT_FORMAT_VERSION = 1
LABELS = (SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE)
HEADS = ("anger", "frustration")
_ANGER, _FRUSTRATION = 3, 4  # output columns after the three sentiment columns


class SentimentTrainConfig(BaseModel):
    """How the sentiment model is trained. The defaults were chosen on the dev splits."""

    model_config = ConfigDict(frozen=True)

    max_word_features: int = Field(40_000, ge=100)
    max_char_features: int = Field(80_000, ge=100)
    min_df: int = Field(2, ge=1)
    lexicon_weight: float = Field(1.0, ge=0)
    c: float = Field(0.1, gt=0)
    head_c: float = Field(0.1, gt=0)
    balance_languages: bool = True  # in the sentiment head, de and en corpus rows get the same total weight
    correction_weight: float = Field(3.0, gt=0)  # a correction counts as this many corpus rows
    min_negative_recall: float = Field(0.6, ge=0, le=1)
    # the floor holds for the Wilson lower bound of each dev set's recall at this many standard errors
    # (1.645: one-sided 95 %); 0 applies it to the observed recall, as models before issue 14 H4 did
    recall_z: float = Field(1.645, ge=0)


class SentimentMetadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    format_version: int = SENTIMENT_FORMAT_VERSION
    model_id: str
    created_at: datetime
    data_hash: str
    sources: dict[str, int]
    n_corrections: int
    config: SentimentTrainConfig
    temperature: float
    negative_weight: float
    platt: dict[str, tuple[float, float]]
    n_features: int
    train_seconds: float
    dev_metrics: dict[str, float]


class SentimentModel:
    """A fitted model. Build with `train_sentiment_model`, persist with `understanding.sentiment_artifact`."""

    def __init__(
        self,
        *,
        featurizer: SentimentFeaturizer,
        weights: np.ndarray,
        intercept: np.ndarray,
        metadata: SentimentMetadata,
    ) -> None:
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (n_features, 5)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.metadata = metadata
        if self.weights.shape != (featurizer.n_features, len(LABELS) + len(HEADS)):
            raise ValueError(f"weights of shape {self.weights.shape} do not fit {featurizer.n_features} features")

    def raw_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 5) linear scores: the product `transform(texts) @ weights`, block by block."""
        word, char, dense = self.featurizer.blocks(list(texts))
        n_word, n_char = word.shape[1], char.shape[1]
        scores = np.asarray(word @ self.weights[:n_word]) + np.asarray(char @ self.weights[n_word : n_word + n_char])
        total: np.ndarray = scores + dense @ self.weights[n_word + n_char :] + self.intercept
        return total

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated (sentiment (n, 3), anger (n,), frustration (n,)) of the texts with regional German
        words and the du-form in Standard German (`understanding.variants.standardise`), so that
        "Haushaltsversicherung" scores like "Hausratversicherung". Training and calibration read the
        texts as written; on the dev splits, standardising at prediction time kept or raised macro-F1
        and negative recall (PotTS dev 0.626 / 0.689 -> 0.626 / 0.696, XED-de dev 0.596 / 0.811 ->
        0.613 / 0.814; the English sets are unchanged)."""
        raw = self.raw_scores([standardise(t) for t in texts])
        platt = self.metadata.platt
        return (
            softmax(raw[:, :3], self.metadata.temperature),
            sigmoid(platt["anger"][0] * raw[:, _ANGER] + platt["anger"][1]),
            sigmoid(platt["frustration"][0] * raw[:, _FRUSTRATION] + platt["frustration"][1]),
        )

    def predict_labels(self, texts: Sequence[str]) -> list[SentimentLabel]:
        probs = self.probabilities(texts)[0]
        return [LABELS[i] for i in decide(probs, self.metadata.negative_weight)]

    def predict_many(self, texts: Sequence[str]) -> list[Sentiment]:
        """anger and frustration are the larger of the calibrated model probability and the lexicon rule
        (`rule_anger`, `rule_frustration`, which are 0 without explicit anger words / two frustration
        cues): the public corpora rarely contain an angry customer's wording ("Frechheit", "third time
        I write"). On the dev splits this kept the ranking (ROC-AUC) of the model alone and doubled the
        share of angry texts reaching 0.7. urgency is the rule alone."""
        if not texts:
            return []
        probs, anger, frustration = self.probabilities(texts)
        labels = decide(probs, self.metadata.negative_weight)
        out = []
        for text, row, label, a, f in zip(texts, probs, labels, anger, frustration, strict=True):
            signals = lexicon_signals(text)
            scores = SentimentScores(
                negative=round(float(row[0]), 4), neutral=round(float(row[1]), 4), positive=round(float(row[2]), 4)
            )
            out.append(
                Sentiment(
                    label=LABELS[int(label)],
                    compound=round(float(row[2] - row[0]), 4),
                    scores=scores,
                    anger=max(round(float(a), 4), rule_anger(signals)),
                    frustration=max(round(float(f), 4), rule_frustration(signals)),
                    urgency=rule_urgency(signals),
                )
            )
        return out

    def predict(self, text: str) -> Sentiment:
        return self.predict_many([text])[0]


# --- training -----------------------------------------------------------------------------------
def _row_weights(examples: Sequence[SentimentExample], mask: np.ndarray, *, balance: bool) -> np.ndarray:
    """Per-row weights over the `mask`ed rows: each row's own weight, and with `balance` the corpus rows
    of every language scaled so that each language has the same total weight."""
    weights = np.array([e.weight for e in examples], dtype=float)
    if balance:
        languages = np.array([e.language or "" for e in examples], dtype=object)
        groups = sorted({g for g in languages[mask] if g})
        totals = {g: float(weights[mask & (languages == g)].sum()) for g in groups}
        for group in groups:
            weights[mask & (languages == group)] *= sum(totals.values()) / len(groups) / totals[group]
    chosen: np.ndarray = weights[mask]
    return chosen


def _fit_svm(x: sp.csr_matrix, y: np.ndarray, weights: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    svm = LinearSVC(C=c, max_iter=5000, random_state=0).fit(x, y, sample_weight=weights)
    return svm.coef_.T.astype(np.float32), svm.intercept_.astype(np.float32)


def _label_index(examples: Sequence[SentimentExample]) -> np.ndarray:
    index = {label: i for i, label in enumerate(LABELS)}
    return np.array([index[e.label] if e.label is not None else -1 for e in examples])


def _head_target(examples: Sequence[SentimentExample], head: str) -> tuple[np.ndarray, np.ndarray]:
    values = [getattr(e, head) for e in examples]
    return np.array([v is not None for v in values]), np.array([bool(v) for v in values])


def train_sentiment_model(
    train: Sequence[SentimentExample],
    dev: Mapping[str, Sequence[SentimentExample]],
    *,
    config: SentimentTrainConfig | None = None,
    corrections: Sequence[SentimentExample] = (),
) -> SentimentModel:
    """Fit on `train` (+ `corrections`, each counting `config.correction_weight` rows), then calibrate
    and tune the label rule on `dev` (set name -> examples)."""
    config = config or SentimentTrainConfig()
    started = time.perf_counter()
    rows = [*train, *(e.model_copy(update={"weight": config.correction_weight}) for e in corrections)]
    y = _label_index(rows)
    has_label = y >= 0
    missing = [label.value for i, label in enumerate(LABELS) if not np.any(y == i)]
    if missing:
        raise DataError(
            f"training data: no {', '.join(missing)} examples; every sentiment label needs some. "
            "Check --data-root (the corpora provide all three labels)."
        )
    featurizer = SentimentFeaturizer(
        max_word_features=config.max_word_features,
        max_char_features=config.max_char_features,
        min_df=config.min_df,
        lexicon_weight=config.lexicon_weight,
    ).fit([e.text for e in rows])
    x = featurizer.transform([e.text for e in rows])

    weights = np.zeros((featurizer.n_features, len(LABELS) + len(HEADS)), dtype=np.float32)
    intercept = np.zeros(len(LABELS) + len(HEADS), dtype=np.float32)
    weights[:, :3], intercept[:3] = _fit_svm(
        x[has_label], y[has_label], _row_weights(rows, has_label, balance=config.balance_languages), config.c
    )
    for column, head in ((_ANGER, "anger"), (_FRUSTRATION, "frustration")):
        known, target = _head_target(rows, head)
        if target[known].all() or not target[known].any():
            raise DataError(
                f"training data: no usable {head} labels (rows with and without {head} are needed). "
                "Check --data-root (GoEmotions and XED provide them)."
            )
        w, b = _fit_svm(x[known], target[known].astype(int), _row_weights(rows, known, balance=False), config.head_c)
        weights[:, column], intercept[column] = w[:, 0], b[0]

    draft = SentimentModel(featurizer=featurizer, weights=weights, intercept=intercept, metadata=_placeholder(config))
    calibration, dev_metrics = _calibrate(draft, dev, config)
    digest = data_hash(LabelledExample(text=e.text, label=str(e.label)) for e in rows if e.label is not None)
    created = datetime.now(UTC)
    sources: dict[str, int] = {}
    for example in train:
        sources[example.source] = sources.get(example.source, 0) + 1
    metadata = SentimentMetadata(
        model_id=f"{created:%Y%m%dT%H%M%S}-{digest[7:19]}",
        created_at=created,
        data_hash=digest,
        sources=sources,
        n_corrections=len(corrections),
        config=config,
        n_features=featurizer.n_features,
        train_seconds=round(time.perf_counter() - started, 3),
        dev_metrics=dev_metrics,
        **calibration,
    )
    return SentimentModel(featurizer=featurizer, weights=weights, intercept=intercept, metadata=metadata)


def _placeholder(config: SentimentTrainConfig) -> SentimentMetadata:
    return SentimentMetadata(
        model_id="draft",
        created_at=datetime.now(UTC),
        data_hash="",
        sources={},
        n_corrections=0,
        config=config,
        temperature=1.0,
        negative_weight=1.0,
        platt={"anger": (1.0, 0.0), "frustration": (1.0, 0.0)},
        n_features=0,
        train_seconds=0.0,
        dev_metrics={},
    )


def _calibrate(
    draft: SentimentModel, dev: Mapping[str, Sequence[SentimentExample]], config: SentimentTrainConfig
) -> tuple[dict[str, object], dict[str, float]]:
    pooled = [e for examples in dev.values() for e in examples]
    if not pooled:
        raise DataError("dev data: empty; calibration needs the dev splits of the corpora.")
    raw = draft.raw_scores([e.text for e in pooled])
    y = _label_index(pooled)
    has_label = y >= 0
    temperature = fit_temperature(raw[has_label, :3], y[has_label])
    platt: dict[str, tuple[float, float]] = {}
    metrics: dict[str, float] = {"dev_temperature": round(temperature, 4)}
    for column, head in ((_ANGER, "anger"), (_FRUSTRATION, "frustration")):
        known, target = _head_target(pooled, head)
        if target[known].all() or not target[known].any():
            raise DataError(f"dev data: no usable {head} labels; calibration needs the emotion corpora's dev splits.")
        platt[head] = fit_platt(raw[known, column], target[known])
        metrics[f"dev_{head}_auc"] = round(roc_auc(raw[known, column], target[known]), 4)

    per_set: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    offset = 0
    for name, examples in dev.items():
        part = slice(offset, offset + len(examples))
        offset += len(examples)
        gold = y[part]
        keep = gold >= 0
        if keep.any():
            per_set[name] = (softmax(raw[part][keep, :3], temperature), gold[keep])
    negative_weight, stats = tune_negative_weight(
        per_set, min_recall=config.min_negative_recall, recall_z=config.recall_z
    )
    for name, (probs, gold) in per_set.items():
        predicted = decide(probs, negative_weight)
        metrics[f"dev_{name}_macro_f1"] = round(macro_f1(gold, predicted), 4)
        metrics[f"dev_{name}_negative_recall"] = round(negative_recall(gold, predicted), 4)
        metrics[f"dev_{name}_accuracy"] = round(float(np.mean(predicted == gold)), 4)
    metrics.update({k: round(v, 4) for k, v in stats.items()})
    return {"temperature": temperature, "negative_weight": negative_weight, "platt": platt}, metrics
