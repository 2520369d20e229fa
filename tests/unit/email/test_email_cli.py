"""`glassdesk email parse` (the Typer sub-app, through CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channels.email.cli import email_app

from .fixtures import FIXTURES, manifest_files, needs_fixtures

KEYS = {
    "message_id",
    "from",
    "to",
    "subject",
    "date",
    "in_reply_to",
    "references",
    "language",
    "text",
    "quoted_removed",
    "attachments",
}
runner = CliRunner()


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(FIXTURES)) for p in paths]


@needs_fixtures
def test_manifest_lists_every_fixture() -> None:
    files = manifest_files()
    assert len(files) == 107
    assert all(p.is_file() for p in files)


@needs_fixtures
@pytest.mark.parametrize("path", manifest_files(), ids=_ids(manifest_files()))
def test_parse_every_fixture_prints_one_json_object(path: Path) -> None:
    result = runner.invoke(email_app, ["parse", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == KEYS
    assert isinstance(data["text"], str) and isinstance(data["quoted_removed"], bool)
    for att in data["attachments"]:
        assert set(att) == {"filename", "content_type", "size"}


@needs_fixtures
def test_parse_eml_fields() -> None:
    path = FIXTURES / "talon" / "tests__fixtures__standard_replies__yahoo.eml"
    data = json.loads(runner.invoke(email_app, ["parse", str(path), "--json"]).stdout)
    assert data["from"] == {"address": "xxx@yahoo.com", "name": "Alex Q"}
    assert data["in_reply_to"] == "<1333374262.7063.15.camel@mg5>"
    assert data["date"] == "2012-04-02T06:45:30-07:00"
    assert data["text"] == "Hello" and data["quoted_removed"] is True


def test_pretty_output_without_flag(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(b"From: a@example.com\r\nSubject: Hi\r\nMessage-ID: <1@x>\r\n\r\nHello\r\n")
    result = runner.invoke(email_app, ["parse", str(path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["message_id"] == "<1@x>"


@pytest.mark.parametrize(
    ("content", "code", "needle"),
    [
        (None, 2, "no such file"),
        (b"", 1, "empty"),
        (b"\x00\x01\x02\x89PNG\r\n\x1a\n\xff\xfe\xfd", 1, "not_an_email"),
    ],
)
def test_unreadable_input_exits_non_zero_with_a_clear_message(
    tmp_path: Path, content: bytes | None, code: int, needle: str
) -> None:
    path = tmp_path / "input.eml"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(email_app, ["parse", str(path)])
    assert result.exit_code == code
    assert needle in result.output
    assert str(path) in result.output


def test_directory_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(email_app, ["parse", str(tmp_path)])
    assert result.exit_code == 2 and "directory" in result.output
