"""Knowledge base, hybrid retrieval, back-office lookups and grounded drafting."""

from knowledge.article import Article, Audience, Language, load_articles, parse_article
from knowledge.embeddings import Embedder, HashingEmbedder, MiniLMEmbedder, default_embedder
from knowledge.errors import (
    ArticleInvalid,
    ArticleProblem,
    BackOfficeError,
    BackOfficeUnavailable,
    IndexMissing,
    KnowledgeError,
    LookupFailed,
    LookupNotFound,
    UnredactedInput,
)
from knowledge.retrieval import Hit, KnowledgeBase, default_articles_dir, ingest_directory

__all__ = [
    "Article",
    "Audience",
    "Language",
    "load_articles",
    "parse_article",
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "default_embedder",
    "Hit",
    "KnowledgeBase",
    "ingest_directory",
    "default_articles_dir",
    "KnowledgeError",
    "ArticleProblem",
    "ArticleInvalid",
    "IndexMissing",
    "BackOfficeError",
    "BackOfficeUnavailable",
    "LookupNotFound",
    "LookupFailed",
    "UnredactedInput",
]
