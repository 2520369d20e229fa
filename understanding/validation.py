"""Validation for training: folds, cross-validated scores (C, temperature, out-of-scope score statistics)
and the held-out-labels simulation that places the out-of-scope threshold without out-of-scope data.

Everything here sees training rows only. Labels with one or two examples ("rare") are in every fit set
and in no validation set, so they are learnt but never calibrated on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from understanding.calibration import fit_temperature, softmax
from understanding.features import Featurizer
from understanding.oos import NeighbourIndex, ScoreStats, combined_score

__all__ = [
    "Fold",
    "CrossValidation",
    "Simulation",
    "make_folds",
    "fit_linear",
    "cross_validate",
    "simulate_unseen_labels",
    "in_scope_confidence",
]

FeaturizerFactory = Callable[[], Featurizer]


@dataclass(frozen=True)
class Fold:
    fit_idx: np.ndarray
    val_idx: np.ndarray


@dataclass(frozen=True)
class CrossValidation:
    """Validation rows (concatenated over folds) with their scores at the chosen C."""

    c: float
    accuracy: float
    val_idx: np.ndarray
    scores: np.ndarray  # (n_val, n_labels) decision values
    similarity: np.ndarray  # (n_val,) mean similarity to the k nearest in-scope rows of the fold
    n_folds: int


@dataclass(frozen=True)
class Simulation:
    """Scores of in-scope validation rows and of rows whose label was left out of the refit."""

    score: np.ndarray
    correct: np.ndarray
    is_oos: np.ndarray
    n_rounds: int
    n_held_out_labels: int


def make_folds(
    labels: np.ndarray, *, k: int, fraction: float, seed: int, train_only: frozenset[int] = frozenset()
) -> list[Fold]:
    """k-fold (k > 1) or one held-out split (k == 1), per label, so every label trains in every fold.
    Rows of the labels in `train_only` (rare labels) are in every fit set and in no validation set."""
    rng = np.random.default_rng(seed)
    fold_of = np.full(len(labels), -1, dtype=int)
    for label in np.unique(labels):
        if int(label) in train_only:
            continue
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
            out.append(Fold(fit_idx, val_idx))
    return out


def fit_linear(x: sp.csr_matrix, y: np.ndarray, n_labels: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """LinearSVC weights (n_features, n_labels) and intercepts; `y` holds ids in range(n_labels), all present."""
    svm = LinearSVC(C=c, max_iter=5000).fit(x, y)
    coef, intercept = svm.coef_, svm.intercept_
    if n_labels == 2:  # liblinear returns one row for binary problems
        coef, intercept = np.vstack([-coef, coef]), np.array([-intercept[0], intercept[0]])
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def in_scope_confidence(probs: np.ndarray, in_scope: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best in-scope label, its probability, and whether the out-of-scope class beats it, per row."""
    top = np.where(in_scope, probs, -1.0).argmax(axis=1)
    confidence = probs[np.arange(len(top)), top]
    oos_wins = (probs[:, ~in_scope].max(axis=1) > confidence) if (~in_scope).any() else np.zeros(len(top), bool)
    return top, confidence, oos_wins


class _Rows:
    """Featurises subsets of the training rows; `vectors` are their sentence embeddings, if any."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray | None, factory: FeaturizerFactory) -> None:
        self.texts, self.vectors, self.factory = list(texts), vectors, factory

    def fit(self, idx: np.ndarray) -> Featurizer:
        return self.factory().fit([self.texts[i] for i in idx])

    def features(self, featurizer: Featurizer, idx: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix | np.ndarray]:
        """The classifier's rows and the rows neighbours are searched in."""
        embeddings = None if self.vectors is None else self.vectors[idx]
        word, char, dense = featurizer.blocks([self.texts[i] for i in idx], embeddings=embeddings)
        x = sp.hstack(
            [word, char] if dense is None else [word, char, sp.csr_matrix(dense)], format="csr", dtype=np.float32
        )
        return x, featurizer.neighbour_rows(word, char, dense)


def cross_validate(
    texts: Sequence[str],
    y: np.ndarray,
    *,
    n_labels: int,
    folds: list[Fold],
    vectors: np.ndarray | None,
    factory: FeaturizerFactory,
    c_grid: Sequence[float],
    in_scope_ids: np.ndarray,
    neighbours: int,
) -> CrossValidation:
    """Scores of every validation row for each C; C by the one-standard-error rule (the most
    regularised C within one standard error of the best accuracy)."""
    rows = _Rows(texts, vectors, factory)
    prepared = []
    for fold in folds:
        featurizer = rows.fit(fold.fit_idx)
        x_fit, n_fit = rows.features(featurizer, fold.fit_idx)
        x_val, n_val = rows.features(featurizer, fold.val_idx)
        keep = np.isin(y[fold.fit_idx], in_scope_ids)
        similarity = NeighbourIndex(n_fit[keep], k=neighbours).similarity(n_val)
        prepared.append((x_fit, x_val, similarity))

    def score(job: tuple[int, float]) -> np.ndarray:
        i, c = job
        x_fit, x_val, _ = prepared[i]
        w, b = fit_linear(x_fit, y[folds[i].fit_idx], n_labels, c)
        return np.asarray(x_val @ w) + b

    jobs = [(i, c) for c in c_grid for i in range(len(folds))]
    with ThreadPoolExecutor(max_workers=2) as pool:  # liblinear releases the GIL
        fold_scores = dict(zip(jobs, pool.map(score, jobs), strict=True))
    val_idx = np.concatenate([f.val_idx for f in folds])
    by_c = {c: np.vstack([fold_scores[(i, c)] for i in range(len(folds))]) for c in c_grid}
    accuracy = {c: float((s.argmax(axis=1) == y[val_idx]).mean()) for c, s in by_c.items()}
    top_acc = max(accuracy.values())
    standard_error = float(np.sqrt(top_acc * (1 - top_acc) / len(val_idx)))
    best_c = min(c for c in c_grid if accuracy[c] >= top_acc - standard_error)
    return CrossValidation(
        c=best_c,
        accuracy=accuracy[best_c],
        val_idx=val_idx,
        scores=by_c[best_c],
        similarity=np.concatenate([p[2] for p in prepared]),
        n_folds=len(folds),
    )


def simulate_unseen_labels(
    texts: Sequence[str],
    y: np.ndarray,
    *,
    folds: list[Fold],
    vectors: np.ndarray | None,
    factory: FeaturizerFactory,
    c: float,
    in_scope_ids: np.ndarray,
    eligible: np.ndarray,
    fraction: float,
    rounds: int,
    neighbours: int,
    confidence_weight: float,
    seed: int,
) -> Simulation:
    """Out-of-scope examples from the training data itself: in each round a random `fraction` of the
    `eligible` labels (in-scope labels with validation rows) is left out of a refit on one fold; the fold's other validation rows are in scope
    and every row of a left-out label is out of scope, scored exactly as the final model scores
    messages (vocabulary, neighbours, temperature and score statistics from the refit only)."""
    rng = np.random.default_rng(seed + 1)
    rows = _Rows(texts, vectors, factory)
    n_out = min(len(eligible) - 2, max(1, int(round(len(eligible) * fraction))))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for r in range(rounds):
        fold = folds[r % len(folds)]
        held = rng.choice(eligible, size=n_out, replace=False)
        fit_idx = fold.fit_idx[~np.isin(y[fold.fit_idx], held)]
        val_idx = fold.val_idx[np.isin(y[fold.val_idx], in_scope_ids) & ~np.isin(y[fold.val_idx], held)]
        oos_idx = np.flatnonzero(np.isin(y, held))
        present = np.unique(y[fit_idx])
        local = np.searchsorted(present, y[fit_idx])
        featurizer = rows.fit(fit_idx)
        x_fit, n_fit = rows.features(featurizer, fit_idx)
        eval_idx = np.concatenate([val_idx, oos_idx])
        x_eval, n_eval = rows.features(featurizer, eval_idx)
        w, b = fit_linear(x_fit, local, len(present), c)
        scores = np.asarray(x_eval @ w) + b
        in_scope = np.isin(present, in_scope_ids)
        n_val = len(val_idx)
        temperature = fit_temperature(scores[:n_val], np.searchsorted(present, y[val_idx]))
        top, confidence, oos_wins = in_scope_confidence(softmax(scores, temperature), in_scope)
        similarity = NeighbourIndex(n_fit[np.isin(y[fit_idx], in_scope_ids)], k=neighbours).similarity(n_eval)
        stats = ScoreStats.of(confidence[:n_val], similarity[:n_val])
        score = combined_score(confidence, similarity, stats=stats, confidence_weight=confidence_weight)
        score = np.where(oos_wins, -np.inf, score)
        correct = np.concatenate([present[top[:n_val]] == y[val_idx], np.zeros(len(oos_idx), bool)])
        is_oos = np.concatenate([np.zeros(n_val, bool), np.ones(len(oos_idx), bool)])
        parts.append((score, correct, is_oos))
    score, correct, is_oos = (np.concatenate([p[i] for p in parts]) for i in range(3))
    finite = np.isfinite(score)
    floor = float(score[finite].min()) - 1.0 if finite.any() else -1.0
    return Simulation(
        score=np.where(finite, score, floor), correct=correct, is_oos=is_oos, n_rounds=rounds, n_held_out_labels=n_out
    )
