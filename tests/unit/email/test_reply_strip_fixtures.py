"""Reply trimming on two fixture sets with written-down expected texts (see fixtures/README.md).

* ``fixtures/own/``: messages written for Glassdesk, German and English, one per client style
  (Gmail, Apple Mail/iOS, Thunderbird, Outlook desktop/Mac/Android/web, GMX/WEB.DE, Yahoo, Horde,
  Lotus Notes), forwards and sign-offs. ``split=dev`` cases were used while writing the rules;
  ``split=holdout`` cases were written at the same time and only run once the rules were fixed.
* ``fixtures/shared/``: the expected texts for 64 upstream fixtures in the shared data folder
  (52 distinct plain-text bodies from zapier/email-reply-parser and alfonsrv/mail-parser-reply,
  12 talon standard replies through ``parse_email``).

The loaders here are also used by ``bench/reply_strip.py``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.email import parse_email, strip_reply

from .fixtures import FIXTURES, needs_fixtures

HERE = Path(__file__).resolve().parent / "fixtures"
OWN = HERE / "own"
SHARED = HERE / "shared"


@dataclass(frozen=True)
class ReplyCase:
    """One body and the new text the agent should see."""

    id: str
    body: str
    expected: str
    subject: str = ""
    split: str = "shared"
    lang: str = ""
    client: str = ""
    kind: str = ""
    raw: bytes | None = None  # a whole .eml: run through parse_email


def normalize(text: str) -> str:
    """The comparison form: lines right-stripped, outer blank lines dropped, blank runs collapsed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def load_own_cases() -> list[ReplyCase]:
    with (OWN / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        ReplyCase(
            id=row["id"],
            body=(OWN / f"{row['id']}.input.txt").read_text(encoding="utf-8"),
            expected=(OWN / f"{row['id']}.expected.txt").read_text(encoding="utf-8"),
            subject=row["subject"],
            split=row["split"],
            lang=row["lang"],
            client=row["client"],
            kind=row["kind"],
        )
        for row in rows
    ]


def load_shared_cases(root: Path = FIXTURES) -> list[ReplyCase]:
    """The 64 shared fixtures; ``body`` of an .eml case is the decoded text ``parse_email`` strips."""
    with (SHARED / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cases = []
    for row in rows:
        data = (root / row["local_file"]).read_bytes()
        raw = data if row["mode"] == "eml" else None
        body = parse_email(data).full_text if raw is not None else data.decode("utf-8")
        cases.append(
            ReplyCase(
                id=row["local_file"],
                body=body,
                expected=(SHARED / row["expected"]).read_text(encoding="utf-8"),
                raw=raw,
            )
        )
    return cases


OWN_CASES = load_own_cases()
DEV = [c for c in OWN_CASES if c.split == "dev"]
HOLDOUT = [c for c in OWN_CASES if c.split == "holdout"]


def _visible(case: ReplyCase) -> str:
    return strip_reply(case.body, subject=case.subject or None).text


def test_own_set_covers_both_languages_and_every_client_style() -> None:
    assert len(OWN_CASES) >= 30
    for lang in ("de", "en"):
        mine = [c for c in DEV if c.lang == lang]
        assert {"gmail", "apple-mail", "ios-mail", "thunderbird", "outlook", "outlook-mac"} <= {c.client for c in mine}
        assert {"reply", "forward", "signature"} <= {c.kind for c in mine}


@pytest.mark.parametrize("case", DEV, ids=[c.id for c in DEV])
def test_own_dev_case(case: ReplyCase) -> None:
    assert normalize(_visible(case)) == normalize(case.expected)


def test_own_holdout_floor() -> None:
    """The held-out cases are reported by bench/reply_strip.py; this only guards against a collapse."""
    matched = [c.id for c in HOLDOUT if normalize(_visible(c)) == normalize(c.expected)]
    assert len(matched) >= 0.8 * len(HOLDOUT), sorted({c.id for c in HOLDOUT} - set(matched))


@needs_fixtures
def test_shared_set_matches() -> None:
    cases = load_shared_cases()
    assert len(cases) == 64
    missed = [c.id for c in cases if normalize(strip_reply(c.body).text) != normalize(c.expected)]
    assert not missed


@needs_fixtures
@pytest.mark.parametrize("name", ["iphone", "outlook", "thunderbird", "gmail"])
def test_eml_body_is_what_parse_email_strips(name: str) -> None:
    case = next(c for c in load_shared_cases() if c.id.endswith(f"__{name}.eml"))
    assert case.raw is not None
    assert parse_email(case.raw).text == strip_reply(case.body).text
