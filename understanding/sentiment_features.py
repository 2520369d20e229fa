"""Features of the sentiment model: TF-IDF words (1-2) + char_wb (2-5) with capped vocabularies,
plus the language-neutral lexicon signals of `understanding.sentiment_lexicon` as a small dense block.

The vocabularies are capped (most frequent terms) so the shipped model stays a few MB. Everything a
fitted featurizer needs is exported as JSON-able config plus numpy arrays (no pickle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from understanding.errors import ModelArtifactError
from understanding.sentiment_lexicon import N_LEXICON_FEATURES, lexicon_signals

__all__ = ["SentimentFeaturizer"]

_WORD: dict[str, Any] = dict(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True, dtype=np.float32)
_CHAR: dict[str, Any] = dict(
    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True, dtype=np.float32
)


class SentimentFeaturizer:
    """Fit on training texts; `transform` gives one row per text: [word tf-idf | char tf-idf | lexicon]."""

    def __init__(
        self,
        *,
        max_word_features: int = 40_000,
        max_char_features: int = 80_000,
        min_df: int = 2,
        lexicon_weight: float = 1.0,
    ) -> None:
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.lexicon_weight = lexicon_weight
        self._word = TfidfVectorizer(**_WORD, min_df=min_df, max_features=max_word_features)
        self._char = TfidfVectorizer(**_CHAR, min_df=min_df, max_features=max_char_features)
        self._analyzers: tuple[Callable[[str], list[str]], Callable[[str], list[str]]] | None = None

    def fit(self, texts: Sequence[str]) -> SentimentFeaturizer:
        self._word.fit(texts)
        self._char.fit(texts)
        self._analyzers = None
        return self

    @property
    def n_word(self) -> int:
        return len(self._word.vocabulary_)

    @property
    def n_char(self) -> int:
        return len(self._char.vocabulary_)

    @property
    def n_features(self) -> int:
        return self.n_word + self.n_char + N_LEXICON_FEATURES

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        word, char, dense = self.blocks(texts)
        return sp.hstack([word, char, sp.csr_matrix(dense)], format="csr", dtype=np.float32)

    def blocks(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """The column blocks of `transform`, unstacked (a prediction multiplies each with its weights)."""
        dense = (
            np.vstack([lexicon_signals(t).features() for t in texts])
            if texts
            else np.zeros((0, N_LEXICON_FEATURES), dtype=np.float32)
        )
        return self._tfidf(0, texts), self._tfidf(1, texts), dense * np.float32(self.lexicon_weight)

    def _tfidf(self, which: int, texts: Sequence[str]) -> sp.csr_matrix:
        """`TfidfVectorizer.transform` arithmetic (counts, sublinear tf, idf, l2 rows) without sklearn's
        per-call input validation, which costs more than the arithmetic for one short message."""
        vectorizer = (self._word, self._char)[which]
        if self._analyzers is None:
            self._analyzers = (self._word.build_analyzer(), self._char.build_analyzer())
        analyze, vocabulary = self._analyzers[which], vectorizer.vocabulary_
        indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for text in texts:
            counts: dict[int, int] = {}
            for term in analyze(text):
                j = vocabulary.get(term)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            indices.extend(counts)
            values.extend(counts.values())
            indptr.append(len(indices))
        x = sp.csr_matrix(
            (
                np.asarray(values, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(texts), len(vocabulary)),
            dtype=np.float32,
        )
        x.sort_indices()
        np.log(x.data, x.data)
        x.data += 1.0
        x.data *= vectorizer.idf_[x.indices].astype(np.float32)
        inplace_csr_row_normalize_l2(x)
        return x

    # --- safe persistence -------------------------------------------------------------------
    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config: dict[str, Any] = {
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "min_df": self.min_df,
            "lexicon_weight": self.lexicon_weight,
            "word_vocabulary": _ordered_vocabulary(self._word),
            "char_vocabulary": _ordered_vocabulary(self._char),
        }
        return config, {"word_idf": self._word.idf_.astype(np.float32), "char_idf": self._char.idf_.astype(np.float32)}

    @classmethod
    def restore(cls, config: dict[str, Any], arrays: dict[str, np.ndarray], *, where: str) -> SentimentFeaturizer:
        """Rebuild from `export`; `where` names the file in error messages."""
        try:
            featurizer = cls(
                max_word_features=int(config["max_word_features"]),
                max_char_features=int(config["max_char_features"]),
                min_df=int(config["min_df"]),
                lexicon_weight=float(config["lexicon_weight"]),
            )
            pairs = (
                (featurizer._word, config["word_vocabulary"], arrays["word_idf"]),
                (featurizer._char, config["char_vocabulary"], arrays["char_idf"]),
            )
            for vectorizer, vocabulary, idf in pairs:
                if len(vocabulary) != len(idf):
                    raise ValueError(f"{len(vocabulary)} terms but {len(idf)} idf values")
                vectorizer.vocabulary_ = {term: i for i, term in enumerate(vocabulary)}
                vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(f"{where}: featurizer config invalid ({exc}). Retrain the model.") from None
        return featurizer


def _ordered_vocabulary(vectorizer: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return terms
