"""Fixtures for knowledge unit tests: the shipped KB (BM25 only, fast) and the in-memory back office."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge import KnowledgeBase, default_articles_dir, ingest_directory
from knowledge.backoffice import InMemoryBackOffice, Lookups

TODAY = dt.date(2026, 11, 23)
ANNA = "CUST-1001"
JOHN = "CUST-1002"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return ingest_directory(default_articles_dir(), embedder=False)


@pytest.fixture
def backoffice() -> InMemoryBackOffice:
    return InMemoryBackOffice(today=lambda: TODAY)


@pytest.fixture
def lookups(backoffice: InMemoryBackOffice) -> Lookups:
    return Lookups(backoffice, timeout=1.0, attempts=3, backoff=0.0)
