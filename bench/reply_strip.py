"""Reply trimming match rate: the shared upstream fixtures and Glassdesk's own set, before and after.

    .venv/bin/python bench/reply_strip.py [--before-ref HEAD] [--no-before]

A case matches when the visible text (``strip_reply(body).text``, compared after
``normalize``: lines right-stripped, outer blank lines dropped, blank runs collapsed) equals the
expected text written down in ``tests/unit/email/fixtures/`` (the policy is in its README.md).

* shared: 64 fixtures from the shared data folder (52 distinct plain-text bodies, 12 talon .eml
  replies whose decoded body is what ``parse_email`` strips);
* own_dev / own_holdout: the messages in ``fixtures/own`` (German and English, one per client style);
  holdout cases were not looked at while the rules were written.

"before" runs ``channels/email/reply_strip.py`` as it is at ``--before-ref`` (read with ``git show``;
skipped when git or the ref is not available); it is called without ``subject=`` when it has no such
parameter. Writes bench/results/reply_strip.json.
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import subprocess
import sys
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.email import reply_strip
from channels.email.models import StrippedText
from tests.unit.email.fixtures import FIXTURES
from tests.unit.email.test_reply_strip_fixtures import (
    ReplyCase,
    load_own_cases,
    load_shared_cases,
    normalize,
)

RESULTS = ROOT / "bench" / "results"
Strip = Callable[..., StrippedText]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _load_at(ref: str) -> tuple[Strip, str] | None:
    """``strip_reply`` from ``channels/email/reply_strip.py`` as committed at ``ref``, and the commit id."""
    source = _git("show", f"{ref}:channels/email/reply_strip.py")
    commit = _git("rev-parse", ref)
    if source is None or commit is None:
        return None
    module = types.ModuleType(f"reply_strip_at_{ref}")
    module.__file__ = f"{ref}:channels/email/reply_strip.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    strip: Strip = module.strip_reply
    return strip, commit.strip()


def _score(strip: Strip, cases: list[ReplyCase]) -> dict[str, Any]:
    takes_subject = "subject" in inspect.signature(strip).parameters
    missed: list[str] = []
    for case in cases:
        result = strip(case.body, subject=case.subject or None) if takes_subject else strip(case.body)
        if normalize(result.text) != normalize(case.expected):
            missed.append(case.id)
    matched = len(cases) - len(missed)
    return {
        "matched": matched,
        "total": len(cases),
        "rate": round(matched / len(cases), 4) if cases else None,
        "missed": missed,
    }


def _by(cases: list[ReplyCase], key: Callable[[ReplyCase], str]) -> dict[str, list[ReplyCase]]:
    groups: dict[str, list[ReplyCase]] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    return dict(sorted(groups.items()))


def _timing(strip: Strip, cases: list[ReplyCase], rounds: int = 20) -> dict[str, float]:
    t0 = time.perf_counter()
    for _ in range(rounds):
        for case in cases:
            strip(case.body)
    per_message = (time.perf_counter() - t0) / (rounds * len(cases))
    return {"mean_us_per_message": round(per_message * 1e6, 1), "messages": len(cases) * rounds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before-ref", default="HEAD", help="git ref whose reply_strip.py is 'before' (default HEAD)")
    ap.add_argument("--no-before", action="store_true", help="score only the working tree")
    args = ap.parse_args()

    own = load_own_cases()
    sets: dict[str, list[ReplyCase]] = {
        "own_dev": [c for c in own if c.split == "dev"],
        "own_holdout": [c for c in own if c.split == "holdout"],
    }
    if (FIXTURES / "MANIFEST.csv").is_file():
        sets["shared"] = load_shared_cases()
    else:
        print(f"shared fixtures not found at {FIXTURES} (set GLASSDESK_EMAIL_FIXTURES); scoring own set only")

    impls: dict[str, Strip] = {"after": reply_strip.strip_reply}
    before_commit = None
    if not args.no_before:
        loaded = _load_at(args.before_ref)
        if loaded is None:
            print(f"could not read channels/email/reply_strip.py at {args.before_ref!r}; no 'before' column")
        else:
            impls = {"before": loaded[0], **impls}
            before_commit = loaded[1]

    report: dict[str, Any] = {
        "benchmark": "reply_strip",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "before_ref": args.before_ref if before_commit else None,
        "before_commit": before_commit,
        "comparison": "normalize(strip_reply(body).text) == normalize(expected)",
        "sets": {},
        "own_by_language": {},
        "own_by_kind": {},
        "timing_after": _timing(reply_strip.strip_reply, [c for cases in sets.values() for c in cases]),
    }
    for name, cases in sets.items():
        report["sets"][name] = {label: _score(strip, cases) for label, strip in impls.items()}
    own_all = sets["own_dev"] + sets["own_holdout"]
    for lang, cases in _by(own_all, lambda c: c.lang).items():
        report["own_by_language"][lang] = {label: _score(s, cases)["matched"] for label, s in impls.items()}
        report["own_by_language"][lang]["total"] = len(cases)
    for kind, cases in _by(own_all, lambda c: c.kind).items():
        report["own_by_kind"][kind] = {label: _score(s, cases)["matched"] for label, s in impls.items()}
        report["own_by_kind"][kind]["total"] = len(cases)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "reply_strip.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, by_impl in report["sets"].items():
        cells = ", ".join(f"{label} {r['matched']}/{r['total']}" for label, r in by_impl.items())
        print(f"{name:12s} {cells}")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
