"""README.md stays true: it shows every setting with its default, and the two commands."""

from __future__ import annotations

from pathlib import Path

from services.settings import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_settings_table_is_current() -> None:
    text = README.read_text()
    start, end = text.index("<!-- settings-table -->\n"), text.index("<!-- /settings-table -->")
    shown = text[start + len("<!-- settings-table -->\n") : end].strip()
    assert shown == settings_table(), "regenerate it: .venv/bin/glassdesk config --markdown"


def test_the_two_commands_are_there() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
    makefile = (README.parent / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
