"""Text features: TF-IDF words (1-2) + char_wb (2-5), optionally with scaled sentence embeddings.

Everything a fitted featurizer needs is exported as JSON-able config plus numpy arrays, so a model is
stored without pickle and rebuilt on load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from understanding.e5 import E5_VARIANT, check_encoder, shared_e5_embedder
from understanding.embeddings import DEFAULT_ENCODER_VARIANT, LEGACY_ENCODER_VARIANT, shared_embedder
from understanding.errors import EmbeddingsUnavailable
from understanding.variants import standardise

__all__ = ["Featurizer", "TextEncoder", "EMBEDDING_DIMENSION"]

EMBEDDING_DIMENSION = 384  # all-MiniLM-L6-v2 and multilingual-e5-small alike


class TextEncoder(Protocol):
    """A sentence encoder: `understanding.embeddings.SentenceEmbedder` or `understanding.e5.E5Embedder`."""

    @property
    def variant(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


_WORD = dict(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True, min_df=1, dtype=np.float32)
_CHAR = dict(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True, min_df=2, dtype=np.float32)


def _vectorizer(params: dict[str, Any], vocabulary: list[str] | None = None) -> TfidfVectorizer:
    kwargs = dict(params)
    if vocabulary is not None:
        kwargs["vocabulary"] = {term: i for i, term in enumerate(vocabulary)}
    return TfidfVectorizer(**kwargs)


class Featurizer:
    """Fit on training texts; transform any texts into one sparse row per text."""

    def __init__(
        self,
        *,
        use_embeddings: bool = False,
        embedding_weight: float = 2.0,
        embedder: TextEncoder | None = None,
        encoder_variant: str = DEFAULT_ENCODER_VARIANT,
        standardise_german: bool = True,
    ) -> None:
        self.use_embeddings = use_embeddings
        # regional German words and the du-form in Standard German, Sie-form, before TF-IDF
        # (`understanding.variants`); models trained before it have False and keep their inputs
        self.standardise_german = standardise_german
        self.embedding_weight = embedding_weight
        self.encoder_variant = check_encoder(encoder_variant)
        if embedder is not None and getattr(embedder, "variant", encoder_variant) != encoder_variant:
            raise EmbeddingsUnavailable(
                f"embedder variant {embedder.variant!r} does not match the featurizer's {encoder_variant!r}"
            )
        self._embedder = embedder
        self._word = _vectorizer(_WORD)
        self._char = _vectorizer(_CHAR)
        self._fitted = False
        self._analyzers: tuple[Any, Any] | None = None  # built on first transform

    @property
    def embedder(self) -> TextEncoder:
        if self._embedder is None:
            self._embedder = (
                shared_e5_embedder() if self.encoder_variant == E5_VARIANT else shared_embedder(self.encoder_variant)
            )
        return self._embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def _prepared(self, texts: Sequence[str]) -> Sequence[str]:
        return [standardise(t) for t in texts] if self.standardise_german else texts

    def fit(self, texts: Sequence[str]) -> Featurizer:
        texts = self._prepared(texts)
        self._word.fit(texts)
        try:
            self._char.fit(texts)
        except ValueError:  # tiny corpora: no char n-gram occurs twice
            self._char = _vectorizer({**_CHAR, "min_df": 1}).fit(texts)
        self._fitted = True
        self._analyzers = None
        return self

    def transform(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> sp.csr_matrix:
        word, char, dense = self.blocks(texts, embeddings=embeddings)
        blocks = [word, char] if dense is None else [word, char, sp.csr_matrix(dense)]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def blocks(
        self, texts: Sequence[str], *, embeddings: np.ndarray | None = None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray | None]:
        """The column blocks of `transform` (word, char, scaled embeddings or None), unstacked: a
        prediction multiplies each with its slice of the weights instead of building the stacked matrix."""
        word, char = self._tfidf(0, texts), self._tfidf(1, texts)
        dense = None
        if self.use_embeddings:
            vectors = embeddings if embeddings is not None else self.embed(texts)
            dense = np.asarray(vectors, dtype=np.float32) * np.float32(self.embedding_weight)
        return word, char, dense

    def _tfidf(self, which: int, texts: Sequence[str]) -> sp.csr_matrix:
        """``TfidfVectorizer.transform`` of a fitted vectorizer with the same arithmetic in the same order
        (counts, sorted indices, sublinear tf, idf, in-place l2 rows), minus sklearn's per-call input
        validation, which costs more than the arithmetic for the one short text of a turn."""
        vectorizer = (self._word, self._char)[which]
        texts = self._prepared(texts)
        if vectorizer.norm != "l2" or vectorizer.binary or not vectorizer.use_idf:
            return vectorizer.transform(texts)
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
                np.asarray(values, dtype=np.intc),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(texts), len(vocabulary)),
            dtype=vectorizer.dtype,
        )
        x.sort_indices()
        if vectorizer.sublinear_tf:
            np.log(x.data, x.data)
            x.data += 1.0
        x.data *= vectorizer.idf_[x.indices]
        inplace_csr_row_normalize_l2(x)
        return x

    def known_words(self, texts: Sequence[str]) -> np.ndarray:
        """Whether each text contains at least one word of the training vocabulary."""
        return np.asarray(self._tfidf(0, texts).getnnz(axis=1) > 0)

    def neighbour_rows(
        self, word: sp.csr_matrix, char: sp.csr_matrix, dense: np.ndarray | None
    ) -> sp.csr_matrix | np.ndarray:
        """The rows out-of-scope neighbours are searched in (see `understanding.oos`): the unit sentence
        embeddings when the featurizer has them, else the TF-IDF blocks side by side."""
        if dense is not None:
            return dense / np.float32(self.embedding_weight)
        return sp.hstack([word, char], format="csr", dtype=np.float32)

    @property
    def n_word_features(self) -> int:
        return len(self._word.vocabulary_)

    @property
    def embedding_dimension(self) -> int:
        return EMBEDDING_DIMENSION

    @property
    def n_features(self) -> int:
        extra = EMBEDDING_DIMENSION if self.use_embeddings else 0
        return len(self._word.vocabulary_) + len(self._char.vocabulary_) + extra

    # --- safe persistence -------------------------------------------------------------------
    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Config (JSON-able, includes vocabularies) and arrays (idf vectors)."""
        config: dict[str, Any] = {
            "use_embeddings": self.use_embeddings,
            "embedding_weight": self.embedding_weight,
            "encoder_variant": self.encoder_variant if self.use_embeddings else None,
            "standardise_german": self.standardise_german,
            "word_min_df": self._word.min_df,
            "char_min_df": self._char.min_df,
            "word_vocabulary": _ordered_vocabulary(self._word),
            "char_vocabulary": _ordered_vocabulary(self._char),
        }
        arrays = {"word_idf": self._word.idf_.astype(np.float64), "char_idf": self._char.idf_.astype(np.float64)}
        return config, arrays

    @classmethod
    def restore(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Featurizer:
        """`encoder_variant` must be known (the caller checks this and reports a clear error)."""
        featurizer = cls(
            use_embeddings=bool(config["use_embeddings"]),
            embedding_weight=float(config["embedding_weight"]),
            encoder_variant=config.get("encoder_variant") or LEGACY_ENCODER_VARIANT,
            standardise_german=bool(config.get("standardise_german", False)),
        )
        featurizer._word = _vectorizer({**_WORD, "min_df": config["word_min_df"]}, config["word_vocabulary"])
        featurizer._char = _vectorizer({**_CHAR, "min_df": config["char_min_df"]}, config["char_vocabulary"])
        for vectorizer, key in ((featurizer._word, "word_idf"), (featurizer._char, "char_idf")):
            vectorizer._validate_vocabulary()
            vectorizer.idf_ = np.asarray(arrays[key], dtype=np.float64)
        featurizer._fitted = True
        return featurizer


def _ordered_vocabulary(vectorizer: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return terms
