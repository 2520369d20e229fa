"""Knowledge articles: Markdown with YAML front matter, validated with errors a person can act on."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from knowledge.errors import ArticleInvalid, ArticleProblem

__all__ = ["Language", "Audience", "Article", "parse_article", "load_articles"]


@enum.unique
class Language(enum.StrEnum):
    DE = "de"
    EN = "en"


@enum.unique
class Audience(enum.StrEnum):
    CUSTOMER = "customer"
    INTERNAL = "internal"


class Article(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    language: Language
    tags: tuple[str, ...]
    audience: Audience
    updated: dt.date
    body: str
    path: str = ""

    @property
    def source_id(self) -> str:
        return f"kb:{self.id}"

    def paragraphs(self) -> list[str]:
        """Body split into paragraphs (headings dropped, list items kept) for snippets."""
        blocks = [b.strip() for b in re.split(r"\n\s*\n", self.body)]
        out: list[str] = []
        for block in blocks:
            lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("#")]
            text = " ".join(ln.strip() for ln in lines if ln.strip())
            if text:
                out.append(text)
        return out


_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,80}$")
_REQUIRED = ("id", "title", "language", "tags", "audience", "updated")


def _split(text: str) -> tuple[str, str] | None:
    if not text.startswith("---"):
        return None
    parts = re.split(r"^---\s*$", text, maxsplit=2, flags=re.MULTILINE)
    if len(parts) < 3:
        return None
    return parts[1], parts[2]


def parse_article(path: Path, text: str) -> tuple[Article | None, list[ArticleProblem]]:
    """Parse one article. Returns the article or the list of everything wrong with it."""
    problems: list[ArticleProblem] = []

    def bad(field: str, problem: str, fix: str) -> None:
        problems.append(ArticleProblem(path, field, problem, fix))

    split = _split(text)
    if split is None:
        bad(
            "front matter",
            "missing or unterminated",
            "start the file with a '---' line, the YAML fields, and a closing '---' line before the Markdown body",
        )
        return None, problems
    raw, body = split
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at front matter line {mark.line + 2}" if mark is not None else ""
        bad(
            "front matter",
            f"invalid YAML{where} ({getattr(exc, 'problem', exc)})",
            "fix the YAML syntax, e.g. quote titles that contain ':'",
        )
        return None, problems
    if not isinstance(meta, dict):
        bad("front matter", "is not a mapping", "write 'key: value' lines between the '---' lines")
        return None, problems

    for field in _REQUIRED:
        if meta.get(field) in (None, ""):
            bad(field, "missing", f"add '{field}: ...' to the front matter")
    unknown = sorted(set(meta) - set(_REQUIRED))
    for field in unknown:
        bad(field, "unknown field", f"remove it; allowed fields are {', '.join(_REQUIRED)}")

    art_id = meta.get("id")
    if art_id is not None and not (isinstance(art_id, str) and _ID.match(art_id)):
        bad("id", f"{art_id!r} is not a valid id", "use 3-80 lowercase letters, digits and '-', e.g. 'shop-returns-en'")
    title = meta.get("title")
    if title is not None and not isinstance(title, str):
        bad("title", f"{title!r} is not text", "quote the title")
    lang = meta.get("language")
    if lang is not None and (not isinstance(lang, str) or lang not in {x.value for x in Language}):
        bad("language", f"{lang!r} is not supported", f"use one of: {', '.join(x.value for x in Language)}")
    aud = meta.get("audience")
    if aud is not None and (not isinstance(aud, str) or aud not in {x.value for x in Audience}):
        bad("audience", f"{aud!r} is not allowed", f"use one of: {', '.join(x.value for x in Audience)}")
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        bad("tags", f"{tags!r} is not a list of words", "write tags as a YAML list: tags: [returns, refund]")
    updated = meta.get("updated")
    if updated is not None and not isinstance(updated, dt.date):
        bad("updated", f"{updated!r} is not a date", "write an ISO date without quotes: updated: 2026-11-01")
    if not body.strip():
        bad("body", "empty", "write the article text below the closing '---'")

    if problems:
        return None, problems
    # Every field is present and checked above; this only tells the type checker so.
    assert isinstance(art_id, str) and isinstance(title, str) and isinstance(lang, str)
    assert isinstance(tags, list) and isinstance(aud, str) and isinstance(updated, dt.date)
    article = Article(
        id=art_id,
        title=title.strip(),
        language=Language(lang),
        tags=tuple(tags),
        audience=Audience(aud),
        updated=updated,
        body=body.strip(),
        path=str(path),
    )
    return article, []


def load_articles(directory: Path | str) -> list[Article]:
    """Load every ``*.md`` under ``directory`` (recursively, sorted). Raises ``ArticleInvalid``
    listing every problem in every file, including duplicate ids."""
    root = Path(directory)
    if not root.is_dir():
        raise ArticleInvalid(
            [
                ArticleProblem(
                    root,
                    "directory",
                    "does not exist or is not a folder",
                    "pass the folder that holds the *.md articles",
                )
            ]
        )
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        article, found = parse_article(path, path.read_text(encoding="utf-8"))
        problems.extend(found)
        if article is None:
            continue
        if article.id in seen:
            problems.append(
                ArticleProblem(
                    path, "id", f"'{article.id}' is already used by {seen[article.id]}", "give each article a unique id"
                )
            )
            continue
        seen[article.id] = path
        articles.append(article)
    if problems:
        raise ArticleInvalid(problems)
    return articles


def iter_text(article: Article) -> Iterable[str]:
    """The text that is indexed: title twice (a cheap boost), tags, body."""
    yield article.title
    yield article.title
    yield " ".join(article.tags)
    yield article.body
