"""Out-of-scope scores: how in-scope a message looks, from the classifier's calibrated confidence and
the similarity to its nearest in-scope training examples.

The score is ``w * z(confidence) + (1 - w) * z(similarity)``, where `confidence` is the top in-scope
probability, `similarity` the mean cosine similarity of the `k` nearest in-scope training examples
(in TF-IDF space, or in sentence-embedding space when the model has embeddings), and `z` standardises
each with its mean and spread on in-scope validation rows. A message is out of scope when its score is
below the model's threshold. On Banking77 with 27 held-out intents (bench/intents_oos.py) the
neighbour term raises the AUROC of in-scope vs unseen intents from 0.83 to 0.86 with TF-IDF and to
0.91 with e5 embeddings: a message of an unseen intent is often confidently misclassified, but it is
rarely close to any training example.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["OosScore", "NeighbourSpace", "ScoreStats", "NeighbourIndex", "combined_score"]

_QUERY_CHUNK = 512


@enum.unique
class OosScore(enum.StrEnum):
    """What the out-of-scope threshold is compared with."""

    CONFIDENCE = "confidence"  # the calibrated top probability (every model trained before issue 14)
    CONFIDENCE_NEIGHBOURS = "confidence+neighbours"  # the combined score of this module


@enum.unique
class NeighbourSpace(enum.StrEnum):
    TFIDF = "tfidf"  # word + char TF-IDF rows (each block L2-normalised)
    EMBEDDING = "embedding"  # the model's sentence embeddings


class ScoreStats:
    """Mean and standard deviation of confidence and neighbour similarity on in-scope validation rows."""

    def __init__(
        self, *, confidence_mean: float, confidence_std: float, similarity_mean: float, similarity_std: float
    ) -> None:
        self.confidence_mean = confidence_mean
        self.confidence_std = max(confidence_std, 1e-6)
        self.similarity_mean = similarity_mean
        self.similarity_std = max(similarity_std, 1e-6)

    @classmethod
    def of(cls, confidence: np.ndarray, similarity: np.ndarray) -> ScoreStats:
        if not len(confidence):
            return cls(confidence_mean=0.0, confidence_std=1.0, similarity_mean=0.0, similarity_std=1.0)
        return cls(
            confidence_mean=float(np.mean(confidence)),
            confidence_std=float(np.std(confidence)),
            similarity_mean=float(np.mean(similarity)),
            similarity_std=float(np.std(similarity)),
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "confidence_mean": self.confidence_mean,
            "confidence_std": self.confidence_std,
            "similarity_mean": self.similarity_mean,
            "similarity_std": self.similarity_std,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ScoreStats:
        return cls(
            **{
                key: float(values[key])
                for key in ("confidence_mean", "confidence_std", "similarity_mean", "similarity_std")
            }
        )


def combined_score(
    confidence: np.ndarray, similarity: np.ndarray, *, stats: ScoreStats, confidence_weight: float
) -> np.ndarray:
    z_conf = (np.asarray(confidence, dtype=np.float64) - stats.confidence_mean) / stats.confidence_std
    z_sim = (np.asarray(similarity, dtype=np.float64) - stats.similarity_mean) / stats.similarity_std
    return confidence_weight * z_conf + (1.0 - confidence_weight) * z_sim


class NeighbourIndex:
    """The in-scope training rows, for the mean similarity of a text to its `k` nearest ones.

    TF-IDF rows are kept transposed (one row per feature: an inverted index), so a short message
    touches only the postings of its own n-grams."""

    def __init__(self, vectors: sp.csr_matrix | np.ndarray, *, k: int) -> None:
        if sp.issparse(vectors):
            self._sparse: sp.csr_matrix | None = sp.csr_matrix(vectors, dtype=np.float32).T.tocsr()
            self._dense: np.ndarray | None = None
            self.size = int(self._sparse.shape[1])
        else:
            self._sparse = None
            self._dense = np.ascontiguousarray(vectors, dtype=np.float32)
            self.size = int(self._dense.shape[0])
        self.k = k

    @property
    def space(self) -> NeighbourSpace:
        return NeighbourSpace.TFIDF if self._sparse is not None else NeighbourSpace.EMBEDDING

    def similarity(self, queries: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """Mean of the `k` largest dot products of each query row with the indexed rows (0 for an empty index)."""
        n = queries.shape[0]
        out = np.zeros(n, dtype=np.float64)
        if self.size == 0 or n == 0:
            return out
        k = min(self.k, self.size)
        for start in range(0, n, _QUERY_CHUNK):
            chunk = queries[start : start + _QUERY_CHUNK]
            if self._sparse is not None:
                sims = (sp.csr_matrix(chunk, dtype=np.float32) @ self._sparse).toarray()
            else:
                assert self._dense is not None
                sims = np.asarray(chunk, dtype=np.float32) @ self._dense.T
            top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
            out[start : start + len(top)] = top.mean(axis=1)
        return out

    # --- safe persistence -------------------------------------------------------------------
    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config: dict[str, Any] = {"k": self.k, "space": self.space.value}
        if self._sparse is not None:
            config["shape"] = list(self._sparse.shape)
            return config, {
                "knn_data": self._sparse.data,
                "knn_indices": self._sparse.indices,
                "knn_indptr": self._sparse.indptr,
            }
        assert self._dense is not None
        return config, {"knn_vectors": self._dense}

    @classmethod
    def restore(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> NeighbourIndex:
        if NeighbourSpace(config["space"]) is NeighbourSpace.EMBEDDING:
            return cls(arrays["knn_vectors"], k=int(config["k"]))
        rows, cols = (int(x) for x in config["shape"])
        inverted = sp.csr_matrix((arrays["knn_data"], arrays["knn_indices"], arrays["knn_indptr"]), shape=(rows, cols))
        return cls(inverted.T.tocsr(), k=int(config["k"]))
