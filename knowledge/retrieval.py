"""Hybrid retrieval over the knowledge base: BM25 (bm25s) plus optional dense embeddings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from pydantic import BaseModel, ConfigDict

from knowledge.article import Article, Audience, Language, iter_text, load_articles
from knowledge.embeddings import Embedder, default_embedder
from knowledge.errors import IndexMissing
from knowledge.text import tokenize

__all__ = ["Hit", "KnowledgeBase", "ingest_directory", "default_articles_dir"]

_ARTICLES_FILE = "articles.json"
_VECTORS_FILE = "vectors.npz"
_BM25_DIR = "bm25"
_SNIPPET_CHARS = 420
_DENSE_WEIGHT = 0.4
# Words that ask how long / how much / how often: they say what kind of answer is wanted, not what the
# question is about, so they do not count against an article's coverage of the query.
_QUESTION_WORDS = frozenset(tokenize("long lange dauert dauern dauer much many viel viele often oft"))
_LANGUAGE_CODES = frozenset(x.value for x in Language)


def default_articles_dir() -> Path:
    """The demo articles shipped inside the package."""
    return Path(__file__).parent / "articles"


class Hit(BaseModel):
    model_config = ConfigDict(frozen=True)

    article_id: str
    title: str
    score: float
    snippet: str
    language: Language
    audience: Audience
    tags: tuple[str, ...] = ()
    coverage: float = 1.0  # share of the query's (non-numeric, topical) terms that occur in the article

    @property
    def source_id(self) -> str:
        return f"kb:{self.article_id}"


def _paragraph_terms(article: Article) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((paragraph, frozenset(tokenize(paragraph))) for paragraph in article.paragraphs())


def _snippet(paragraphs: Sequence[tuple[str, frozenset[str]]], query_tokens: set[str]) -> str:
    best, best_score = "", -1.0
    for position, (paragraph, terms) in enumerate(paragraphs):
        overlap = len(query_tokens & terms)
        score = overlap - position * 0.01  # ties go to the earlier paragraph
        if score > best_score:
            best, best_score = paragraph, score
    if len(best) <= _SNIPPET_CHARS:
        return best
    cut = best[:_SNIPPET_CHARS]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 80 else cut.rstrip() + " …"


class KnowledgeBase:
    """Articles plus their indexes. Build with ``ingest_directory`` or ``KnowledgeBase.load``."""

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        embedder: Embedder | None = None,
        vectors: np.ndarray | None = None,
        bm25: bm25s.BM25 | None = None,
    ) -> None:
        self._articles = tuple(articles)
        self._by_id = {a.id: a for a in self._articles}
        if bm25 is None:
            bm25 = bm25s.BM25()
            corpus = [tokenize(" ".join(iter_text(a))) or ["_empty_"] for a in self._articles]
            if corpus:
                bm25.index(corpus, show_progress=False)
        self._bm25 = bm25
        self._terms = [frozenset(tokenize(" ".join(iter_text(a)))) for a in self._articles]
        # paragraphs and their terms, per article, for snippets: tokenized once, on first use
        self._paragraphs: dict[int, tuple[tuple[str, frozenset[str]], ...]] = {}
        self._embedder = embedder
        if embedder is not None and vectors is None and self._articles:
            vectors = embedder.embed([f"{a.title}\n{a.body}" for a in self._articles])
        self._vectors = vectors

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    @property
    def hybrid(self) -> bool:
        return self._dense() is not None

    def _dense(self) -> tuple[Embedder, np.ndarray] | None:
        """The embedder and the article vectors, when both are there (hybrid search)."""
        if self._embedder is None or self._vectors is None:
            return None
        return self._embedder, self._vectors

    def article(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def _paragraphs_of(self, index: int) -> tuple[tuple[str, frozenset[str]], ...]:
        cached = self._paragraphs.get(index)
        if cached is None:
            cached = self._paragraphs[index] = _paragraph_terms(self._articles[index])
        return cached

    def _coverage(self, tokens: list[str]) -> np.ndarray:
        words = {t for t in tokens if not t.isdigit() and t not in _QUESTION_WORDS} or set(tokens)
        if not words:
            return np.zeros(len(self._articles))
        return np.array([len(words & terms) / len(words) for terms in self._terms])

    def _scores(self, query: str, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if not tokens or not self._articles:
            zeros = np.zeros(len(self._articles))
            return zeros, zeros
        coverage = self._coverage(tokens)
        lexical = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if lexical.max() > 0:
            lexical = lexical / lexical.max()
        lexical = lexical * (0.5 + 0.5 * coverage)
        pair = self._dense()
        if pair is None:
            return lexical, coverage
        embedder, vectors = pair
        dense = vectors @ embedder.embed([query])[0]
        dense = np.clip(dense.astype(np.float64), 0.0, 1.0)
        # Dense similarity only ranks among articles that share at least one term, or is strong.
        combined = (1 - _DENSE_WEIGHT) * lexical + _DENSE_WEIGHT * dense
        return np.where((lexical > 0) | (dense >= 0.5), combined, 0.0), coverage

    def search(
        self,
        query: str,
        *,
        language: Language | str | None = None,
        k: int = 5,
        include_internal: bool = False,
    ) -> list[Hit]:
        """Best ``k`` articles for ``query``.

        ``language`` filters; when no article in that language matches, the other languages are
        searched instead (the hits carry their real ``language``), as for a language that has no
        articles at all. Internal articles are only
        returned with ``include_internal=True``, so customer-facing drafting never sees them.
        """
        tokens = tokenize(query)
        scores, coverage = self._scores(query, tokens)
        allowed = [include_internal or a.audience is Audience.CUSTOMER for a in self._articles]
        # A language with no articles (any code a detector may name) searches every language.
        wanted = Language(language) if language is not None and language in _LANGUAGE_CODES else None
        order = np.argsort(-scores, kind="stable")

        def pick(match_language: bool) -> list[int]:
            chosen = []
            for i in order:
                if scores[i] <= 0 or not allowed[i]:
                    continue
                if wanted is not None and (self._articles[i].language is wanted) != match_language:
                    continue
                chosen.append(int(i))
                if len(chosen) == k:
                    break
            return chosen

        indices = pick(True)
        if not indices and wanted is not None:
            indices = pick(False)
        query_tokens = set(tokens)
        return [
            Hit(
                article_id=self._articles[i].id,
                title=self._articles[i].title,
                score=round(float(scores[i]), 4),
                snippet=_snippet(self._paragraphs_of(i), query_tokens),
                language=self._articles[i].language,
                audience=self._articles[i].audience,
                tags=self._articles[i].tags,
                coverage=round(float(coverage[i]), 4),
            )
            for i in indices
        ]

    def save(self, folder: Path | str) -> Path:
        """Persist as JSON + numpy arrays (no pickle) under ``folder``."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        dense = self._dense()
        payload = {
            "format": 1,
            "embedder": dense[0].name if dense is not None else None,
            "articles": [a.model_dump(mode="json") for a in self._articles],
        }
        (root / _ARTICLES_FILE).write_text(json.dumps(payload, ensure_ascii=False, indent=1), "utf-8")
        if self._articles:
            self._bm25.save(str(root / _BM25_DIR), show_progress=False)
        vectors_path = root / _VECTORS_FILE
        if dense is not None:
            np.savez(vectors_path, vectors=dense[1])
        elif vectors_path.exists():
            vectors_path.unlink()
        return root

    @classmethod
    def load(cls, folder: Path | str, *, embedder: Embedder | None | bool = True) -> KnowledgeBase:
        """Load a persisted index.

        Dense vectors are used only when the index was saved with them and the embedder has the
        same name; ``embedder=True`` builds the default embedder only in that case. Otherwise the
        index is BM25 only (nothing is re-embedded at load time).
        """
        root = Path(folder)
        meta_path = root / _ARTICLES_FILE
        if not meta_path.is_file():
            raise IndexMissing(root)
        payload = json.loads(meta_path.read_text("utf-8"))
        articles = [Article.model_validate(a) for a in payload["articles"]]
        bm25 = bm25s.BM25.load(str(root / _BM25_DIR), mmap=False) if articles else None
        saved = payload.get("embedder")
        chosen: Embedder | None = None
        if saved is not None and embedder is True:
            chosen = default_embedder()
        elif saved is not None and embedder is not None and not isinstance(embedder, bool):
            chosen = embedder
        vectors = None
        if chosen is not None and chosen.name == saved:
            with np.load(root / _VECTORS_FILE, allow_pickle=False) as data:
                vectors = data["vectors"]
        else:
            chosen = None
        return cls(articles, embedder=chosen, vectors=vectors, bm25=bm25)


def ingest_directory(
    directory: Path | str,
    *,
    index_dir: Path | str | None = None,
    embedder: Embedder | None | bool = True,
) -> KnowledgeBase:
    """Load and validate every article under ``directory`` and build the index.

    ``embedder=True`` (default) uses MiniLM when its package is importable, ``False``/``None``
    means BM25 only, or pass an ``Embedder``. With ``index_dir`` the index is also persisted.
    """
    chosen: Embedder | None
    if embedder is True:
        chosen = default_embedder()
    elif embedder is False or embedder is None:
        chosen = None
    else:
        chosen = embedder
    kb = KnowledgeBase(load_articles(directory), embedder=chosen)
    if index_dir is not None:
        kb.save(index_dir)
    return kb
