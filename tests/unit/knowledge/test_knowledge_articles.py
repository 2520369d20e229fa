"""Article loading: the shipped KB is valid; bad front matter is refused with file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import ArticleInvalid, Audience, Language, default_articles_dir, load_articles

GOOD = """---
id: sample-article-en
title: "Sample: returns"
language: en
tags: [returns]
audience: customer
updated: 2026-10-01
---
Body text.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ArticleInvalid) as info:
        load_articles(folder)
    return [str(p) for p in info.value.problems]


def test_shipped_knowledge_base_is_valid_and_covers_both_languages_and_domains() -> None:
    articles = load_articles(default_articles_dir())
    assert len(articles) >= 30
    assert {a.language for a in articles} == {Language.DE, Language.EN}
    ids = {a.id for a in articles}
    assert {"shop-returns-de", "shop-returns-en", "ins-water-damage-de", "ins-report-claim-en"} <= ids
    assert any(a.audience is Audience.INTERNAL for a in articles)


def test_valid_article_parses(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", GOOD)
    [article] = load_articles(tmp_path)
    assert article.title == "Sample: returns"
    assert article.source_id == "kb:sample-article-en"
    assert article.body == "Body text."


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        ("language: en", "language: fr", "language", "use one of: de, en"),
        ("language: en", "language: [en]", "language", "use one of: de, en"),  # unhashable: no TypeError
        ("audience: customer", "audience: {customer: 1}", "audience", "use one of: customer, internal"),
        ("audience: customer", "audience: public", "audience", "use one of: customer, internal"),
        ("updated: 2026-10-01", "updated: last week", "updated", "ISO date"),
        ("id: sample-article-en", "id: Bad Id!", "id", "lowercase letters"),
        ("tags: [returns]", "tags: returns", "tags", "YAML list"),
        ("audience: customer\n", "", "audience", "add 'audience: ...'"),
        ("tags: [returns]", "tags: [returns]\nauthor: me", "author", "remove it"),
    ],
)
def test_front_matter_errors_name_file_field_and_fix(tmp_path: Path, old: str, new: str, field: str, fix: str) -> None:
    _write(tmp_path, "broken.md", GOOD.replace(old, new))
    [problem] = _problems(tmp_path)
    assert "broken.md" in problem
    assert f"field '{field}'" in problem
    assert fix in problem


def test_missing_front_matter_and_bad_yaml_are_reported(tmp_path: Path) -> None:
    _write(tmp_path, "plain.md", "# Just markdown\n")
    _write(tmp_path, "yaml.md", "---\ntitle: [unclosed\n---\nBody\n")
    problems = _problems(tmp_path)
    assert len(problems) == 2
    assert any("plain.md" in p and "missing or unterminated" in p for p in problems)
    assert any("yaml.md" in p and "invalid YAML" in p for p in problems)


def test_every_problem_in_every_file_is_listed_including_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", GOOD)
    _write(tmp_path, "b.md", GOOD)
    _write(tmp_path, "c.md", GOOD.replace("language: en", "language: xx").replace("id: sample-article-en", "id: other"))
    problems = _problems(tmp_path)
    assert any("b.md" in p and "already used by" in p for p in problems)
    assert any("c.md" in p and "field 'language'" in p for p in problems)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path / "nope")
    assert "does not exist" in problem
