"""Paths and helpers for the real email fixtures in the shared data folder (see MANIFEST.csv)."""

from __future__ import annotations

import csv
import os
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

FIXTURES = Path(os.environ.get("GLASSDESK_EMAIL_FIXTURES", "/work/shared/data/emails"))

needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "MANIFEST.csv").is_file(),
    reason=f"email fixtures not found at {FIXTURES} (set GLASSDESK_EMAIL_FIXTURES)",
)


def fixture_path(source: str, name: str) -> Path:
    """``fixture_path("zapier-email-reply-parser", "email_1_2.txt")`` etc."""
    prefix = "tests__fixtures__" if source == "talon" else "test__emails__"
    return FIXTURES / source / f"{prefix}{name}"


def read_text(source: str, name: str) -> str:
    return fixture_path(source, name).read_bytes().decode("utf-8")


def manifest_files() -> list[Path]:
    if not (FIXTURES / "MANIFEST.csv").is_file():
        return []
    with (FIXTURES / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        return [FIXTURES / row["local_file"] for row in csv.DictReader(fh)]


def wrap_body(body: str, *, subtype: str = "plain", **headers: str) -> bytes:
    """Wrap a body fixture in a minimal MIME message, as a client would have sent it."""
    msg = EmailMessage()
    msg["From"] = headers.get("from_", "Customer <customer@example.com>")
    msg["To"] = headers.get("to", "support@glassdesk.local")
    msg["Subject"] = headers.get("subject", "Re: Your request")
    msg["Message-ID"] = headers.get("message_id", "<fixture@example.com>")
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0100"
    msg.set_content(body, subtype=subtype)
    return msg.as_bytes(policy=SMTP)
