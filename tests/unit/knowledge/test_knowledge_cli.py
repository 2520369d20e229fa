"""`glassdesk kb ingest` and `glassdesk kb search` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from knowledge.cli import kb_app

runner = CliRunner()


def test_ingest_then_search(tmp_path: Path) -> None:
    index = tmp_path / "kb"
    result = runner.invoke(kb_app, ["ingest", "--index", str(index), "--no-dense"])
    assert result.exit_code == 0, result.output
    assert "ingested" in result.output
    found = runner.invoke(kb_app, ["search", "Fahrrad gestohlen", "--index", str(index), "--language", "de", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output[found.output.index("[") :])
    assert hits[0]["article_id"] == "ins-bicycle-de"


def test_ingest_refuses_bad_articles_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\nid: x\n---\nbody\n", encoding="utf-8")
    result = runner.invoke(kb_app, ["ingest", str(tmp_path), "--index", str(tmp_path / "i"), "--no-dense"])
    assert result.exit_code == 1
    assert "bad.md" in result.output and "field 'title'" in result.output


def test_search_without_index_says_how_to_fix(tmp_path: Path) -> None:
    result = runner.invoke(kb_app, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "glassdesk kb ingest" in result.output
