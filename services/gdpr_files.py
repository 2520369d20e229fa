"""Files under var/ that can name a customer: the app logs (var/log, ids only by design, but ids point at
a person), the development sinks (var/mail: every outbound email as .eml; var/sms: every outbound SMS
as JSON) and the RPA failure screenshots (var/rpa-screenshots).

Erasure rewrites each log without the lines that name the subject and deletes the sink files that
name them. Retention drops log lines older than their period (by the timestamp the log format
writes) and sink files and screenshots older than theirs (by modification time). Logs are rewritten
in place (truncate and write), so a process appending to them (O_APPEND) keeps logging."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.gdpr_subject import Matcher

__all__ = ["VarFiles", "scrub_files", "purge_files"]

# "%(asctime)s ..." of services.settings.configure_logging: 2026-11-24 10:00:00,123
_STAMP = re.compile(rb"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class VarFiles:
    """The folders, from ``var_dir``."""

    logs: Path
    mail: Path
    sms: Path
    screenshots: Path

    @classmethod
    def under(cls, var_dir: Path) -> VarFiles:
        return cls(var_dir / "log", var_dir / "mail", var_dir / "sms", var_dir / "rpa-screenshots")


def scrub_files(files: VarFiles, matcher: Matcher, *, dry_run: bool = False) -> dict[str, int]:
    """Log lines and sink files that name the subject (blocking: run it in a thread)."""
    counts = {"log_lines": 0, "mail_files": 0, "sms_files": 0}
    if not matcher:
        return counts
    for path in _files(files.logs):
        counts["log_lines"] += _rewrite(path, lambda lines: [matcher.search(line) for line in lines], dry_run=dry_run)
    for folder, key in ((files.mail, "mail_files"), (files.sms, "sms_files")):
        for path in _files(folder):
            if matcher.search(path.name) or matcher.search(path.read_bytes()):
                counts[key] += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
    return counts


def purge_files(files: VarFiles, *, logs_before: datetime, sinks_before: datetime, dry_run: bool) -> dict[str, int]:
    """Retention: log lines older than ``logs_before``; sink files older than ``sinks_before``;
    screenshots older than ``logs_before`` (blocking: run it in a thread)."""
    counts = {"log_lines": 0, "mail_files": 0, "sms_files": 0, "screenshots": 0}
    for path in _files(files.logs):
        counts["log_lines"] += _rewrite(
            path, functools.partial(_expired_lines, cutoff=logs_before, mtime=_mtime(path)), dry_run=dry_run
        )
    for folder, key, cutoff in (
        (files.mail, "mail_files", sinks_before),
        (files.sms, "sms_files", sinks_before),
        (files.screenshots, "screenshots", logs_before),
    ):
        for path in _files(folder):
            if _mtime(path) < cutoff:
                counts[key] += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
    return counts


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _expired_lines(lines: list[bytes], cutoff: datetime, *, mtime: datetime) -> list[bool]:
    """Per line: older than ``cutoff``. A line without a timestamp (a traceback, a vendor's format)
    shares the fate of the timestamped line before it (the first one's, at the top of the file); a
    file with no timestamp at all goes by its modification time."""
    stamps: list[datetime | None] = []
    for line in lines:
        m = _STAMP.match(line)
        stamps.append(_parse(m.group(1)) if m else None)
    known = [s for s in stamps if s is not None]
    current = known[0] if known else mtime
    out = []
    for stamp in stamps:
        if stamp is not None:
            current = stamp
        out.append(current < cutoff)
    return out


def _parse(raw: bytes) -> datetime | None:
    try:
        # the log format writes local time; read as UTC a line is off by at most the zone offset
        return datetime.strptime(raw.decode().replace("T", " "), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _rewrite(path: Path, drop: Callable[[list[bytes]], list[bool]], *, dry_run: bool) -> int:
    """Drop the lines ``drop(lines)`` flags; returns how many."""
    with open(path, "r+b") as fh:
        lines = fh.read().splitlines(keepends=True)
        keep = [line for line, gone in zip(lines, drop(lines), strict=True) if not gone]
        gone = len(lines) - len(keep)
        if gone and not dry_run:
            fh.seek(0)
            fh.truncate()
            fh.write(b"".join(keep))
            fh.flush()
            os.fsync(fh.fileno())
    return gone
