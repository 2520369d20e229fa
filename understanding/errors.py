"""Errors a person can act on: each says what went wrong, where, and how to fix it."""

from __future__ import annotations

__all__ = ["UnderstandingError", "DataError", "ModelArtifactError", "EmbeddingsUnavailable"]


class UnderstandingError(Exception):
    """Base class for every error raised by the understanding package."""


class DataError(UnderstandingError):
    """A training or evaluation file cannot be used (bad CSV, missing column, too few examples)."""


class ModelArtifactError(UnderstandingError):
    """A model directory is missing, incomplete, of an unknown format version or corrupt."""


class EmbeddingsUnavailable(UnderstandingError):
    """Sentence-embedding features were requested but the optional extra is not installed."""
