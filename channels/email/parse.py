"""Defensive parsing of raw inbound email (stdlib ``email``, ``policy.default``).

Contract: ``parse_email`` returns a ``ParsedEmail`` (possibly with ``quarantine_reason`` set) or
raises ``InboundParseError``; no other exception escapes. The caller keeps the raw bytes either way.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from channels.email.addresses import Mailbox, parse_mailbox, parse_mailbox_list
from channels.email.attachments import sanitize_filename
from channels.email.errors import EmailParseError, ParseFailure
from channels.email.html_text import html_to_text
from channels.email.language import guess_language
from channels.email.models import Attachment, ParsedEmail, ParseLimits, QuarantineReason
from channels.email.reply_strip import strip_reply
from conversation.errors import InboundParseError

__all__ = ["parse_email", "parse_to_json"]

_DEFAULT_LIMITS = ParseLimits()
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY_PARAM = re.compile(rb"boundary\s*=", re.IGNORECASE)
_MSG_ID = re.compile(r"<[^<>\s]{1,994}>")
_BARE_MSG_ID = re.compile(r"[^<>\s@]{1,500}@[^<>\s@]{1,400}")
_KNOWN_HEADERS = frozenset(
    "from to cc subject date message-id mime-version content-type received return-path "
    "in-reply-to references reply-to sender delivered-to".split()
)
_UNSAFE_CODECS = frozenset({"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined"})
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_MAX_HEADER_VALUE = 4000
_LOOKS_LIKE_HTML = re.compile(r"\s*(?:<\?xml|<!doctype|<html|<body|<(?:div|p|span|table)[\s>])", re.IGNORECASE)


def _clean(text: str) -> str:
    """Undo the parser's surrogate escapes (raw 8-bit header bytes) so every string is valid UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class _Quarantine:
    """First quarantine reason wins; the detail says what limit was hit."""

    def __init__(self) -> None:
        self.reason: QuarantineReason | None = None
        self.detail: str | None = None

    def set(self, reason: QuarantineReason, detail: str) -> None:
        if self.reason is None:
            self.reason, self.detail = reason, detail


def _header(msg: Message, name: str, limit: int = _MAX_HEADER_VALUE) -> str:
    """Decoded header value, CR/LF and other controls replaced, bounded; '' when absent/broken."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - header parsing raises assorted errors on hostile input
        return ""
    text = "".join(" " if (ord(ch) < 32 or ch == "\x7f") else ch for ch in _clean(text))
    return " ".join(text.split())[:limit]


def _raw_headers(msg: Message, name: str) -> list[str]:
    values: list[str] = []
    for key, value in msg.raw_items():
        if key.lower() == name:
            raw = _clean(value if isinstance(value, str) else str(value))
            values.append(raw.replace("\r", " ").replace("\n", " ")[:_MAX_HEADER_VALUE])
    return values


def _message_ids(value: str) -> list[str]:
    ids = _MSG_ID.findall(value)
    if not ids:
        ids = [f"<{m}>" for m in _BARE_MSG_ID.findall(value)]
    return ids


def _references(value: str, limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for mid in _message_ids(value):
        seen.setdefault(mid, None)
    refs = list(seen)
    if len(refs) > limit:  # keep the thread root and the most recent ancestors (RFC 5322 3.6.4)
        refs = refs[:1] + refs[-(limit - 1) :] if limit > 1 else refs[-1:]
    return tuple(refs)


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed if 1970 <= parsed.year <= 2200 else None


def _decode_text(payload: bytes, charset: str | None) -> str:
    name = (charset or "us-ascii").strip().lower()
    if name in ("us-ascii", "ascii") and not payload.isascii():
        # Undeclared 8-bit text: clients almost always mean UTF-8, else Windows-1252.
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("cp1252", errors="replace")
    try:
        info = codecs.lookup(name)
        if info.name in _UNSAFE_CODECS or not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return payload.decode(info.name, errors="replace")
    except (LookupError, ValueError, TypeError):
        return payload.decode("utf-8", errors="replace")


def _part_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        return b""
    return payload if isinstance(payload, bytes) else b""


def _safe(call: Any, default: Any) -> Any:
    try:
        return call()
    except Exception:  # noqa: BLE001
        return default


def _auto_submitted(msg: Message, sender: Mailbox | None) -> bool:
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(msg, "Precedence").lower() in _AUTO_PRECEDENCE:
        return True
    for name in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _header(msg, name):
            return True
    if _header(msg, "Return-Path").replace(" ", "") == "<>":
        return True
    if _safe(msg.get_content_type, "") == "multipart/report":
        return True
    return sender is not None and sender.address.split("@")[0].lower() in {"mailer-daemon", "postmaster"}


class _Walk:
    """Iterative walk over the MIME tree with depth/part/attachment limits."""

    def __init__(self, limits: ParseLimits, quarantine: _Quarantine) -> None:
        self.limits = limits
        self.quarantine = quarantine
        self.plain: str | None = None
        self.html: str | None = None
        self.html_present = False
        self.attachments: list[Attachment] = []
        self._attachment_bytes = 0

    def run(self, root: Message) -> None:
        stack: list[tuple[Message, int, bool]] = [(root, 1, False)]
        parts = 0
        while stack:
            part, depth, nested = stack.pop()
            parts += 1
            if parts > self.limits.max_parts:
                self.quarantine.set(QuarantineReason.TOO_MANY_PARTS, f"more than {self.limits.max_parts} MIME parts")
                return
            if depth > self.limits.max_mime_depth:
                self.quarantine.set(
                    QuarantineReason.MIME_TOO_DEEP, f"MIME nesting deeper than {self.limits.max_mime_depth}"
                )
                continue
            ctype = _safe(part.get_content_type, "application/octet-stream")
            if part.is_multipart():
                children = part.get_payload()
                if ctype == "message/rfc822" and not nested:
                    self._attachment(part, ctype, forwarded=True)
                    nested = True
                if isinstance(children, list):
                    stack.extend((c, depth + 1, nested) for c in reversed(children) if isinstance(c, Message))
                continue
            if nested:
                continue
            self._leaf(part, ctype)

    def _leaf(self, part: Message, ctype: str) -> None:
        disposition = _safe(part.get_content_disposition, None)
        filename = _safe(part.get_filename, None)
        if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
            text = _decode_text(_part_bytes(part), _safe(part.get_content_charset, None))
            if ctype == "text/plain" and self.plain is None:
                self.plain = text
                return
            if ctype == "text/html":
                self.html_present = True
                if self.html is None:
                    self.html = text
                return
        self._attachment(part, ctype, filename=filename, disposition=disposition)

    def _attachment(
        self,
        part: Message,
        ctype: str,
        *,
        filename: str | None = None,
        disposition: str | None = None,
        forwarded: bool = False,
    ) -> None:
        limits = self.limits
        if len(self.attachments) >= limits.max_attachments:
            self.quarantine.set(
                QuarantineReason.TOO_MANY_ATTACHMENTS, f"more than {limits.max_attachments} attachments"
            )
            return
        if forwarded:
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
            data = _safe(lambda: first.as_bytes(policy=policy.compat32), b"") if first is not None else b""
        else:
            data = _part_bytes(part)
        index = len(self.attachments) + 1
        name = sanitize_filename(_clean(filename) if filename else None, index=index, content_type=_clean(ctype))
        digest = hashlib.sha256(data).hexdigest()
        kept = True
        if len(data) > limits.max_attachment_bytes:
            self.quarantine.set(
                QuarantineReason.ATTACHMENT_TOO_LARGE,
                f"attachment {index} is {len(data)} bytes (limit {limits.max_attachment_bytes})",
            )
            kept = False
        elif self._attachment_bytes + len(data) > limits.max_total_attachment_bytes:
            self.quarantine.set(
                QuarantineReason.ATTACHMENTS_TOO_LARGE,
                f"attachments exceed {limits.max_total_attachment_bytes} bytes in total",
            )
            kept = False
        if kept:
            self._attachment_bytes += len(data)
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=_clean(ctype)[:255],
                size=len(data),
                sha256=digest,
                inline=disposition == "inline",
                kept=kept,
                data=data if kept else b"",
            )
        )


def _check_raw(raw: bytes, limits: ParseLimits) -> None:
    if not raw or not raw.strip():
        raise EmailParseError(ParseFailure.EMPTY, "the input is empty; nothing to parse")
    if len(raw) > limits.max_total_bytes:
        raise EmailParseError(
            ParseFailure.TOO_LARGE,
            f"message is {len(raw)} bytes, limit is {limits.max_total_bytes}; kept raw for a human",
        )
    boundaries = len(_BOUNDARY_PARAM.findall(raw))
    if boundaries > limits.max_parts:
        # Cheap pre-check: each multipart container declares one boundary; parsing thousands of
        # nested containers costs seconds in the stdlib parser, so refuse before parsing.
        raise EmailParseError(
            ParseFailure.TOO_MANY_PARTS,
            f"{boundaries} multipart boundaries declared, limit is {limits.max_parts} parts",
        )
    head = raw[: limits.max_header_bytes + 4]
    end = _HEADER_END.search(head)
    if end is None and len(raw) > limits.max_header_bytes:
        raise EmailParseError(
            ParseFailure.HEADER_TOO_LARGE,
            f"no end of headers within {limits.max_header_bytes} bytes",
        )


def _bare_body(raw: bytes, limits: ParseLimits, digest: str) -> ParsedEmail:
    """Input without any email header: accept it as a plain-text body, or reject it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EmailParseError(
            ParseFailure.NOT_AN_EMAIL, f"no email headers and not UTF-8 text (byte {exc.start})"
        ) from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise EmailParseError(ParseFailure.NOT_AN_EMAIL, "no email headers and binary content")
    truncated = len(text) > limits.max_body_chars
    text = text[: limits.max_body_chars]
    html_present = bool(_LOOKS_LIKE_HTML.match(text))
    if html_present:
        text = html_to_text(text)
    stripped = strip_reply(text)
    return ParsedEmail(
        message_id=None,
        from_=None,
        text=stripped.text,
        quoted_removed=stripped.quoted_removed,
        signature_removed=stripped.signature_removed,
        full_text=text,
        html_present=html_present,
        language=guess_language(stripped.text or text),
        quarantine_reason=QuarantineReason.BODY_TRUNCATED if truncated else QuarantineReason.NO_HEADERS,
        quarantine_detail="no email headers: parsed as a bare body" if not truncated else "body truncated",
        raw_sha256=digest,
        raw_size=len(raw),
    )


def _parse(raw: bytes, limits: ParseLimits) -> ParsedEmail:
    _check_raw(raw, limits)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except RecursionError:
        raise EmailParseError(ParseFailure.MIME_TOO_DEEP, "MIME structure nested too deeply") from None
    if not {k.lower() for k in msg.keys()} & _KNOWN_HEADERS:
        return _bare_body(raw, limits, digest)

    quarantine = _Quarantine()
    from_values = _raw_headers(msg, "from")
    sender = parse_mailbox(from_values[0]) if len(from_values) == 1 else None
    if sender is None:
        quarantine.set(
            QuarantineReason.INVALID_SENDER,
            "From header missing, repeated or not a single cleanly parseable address",
        )
    to, _ = parse_mailbox_list(", ".join(_raw_headers(msg, "to")))
    cc, _ = parse_mailbox_list(", ".join(_raw_headers(msg, "cc")))
    reply_to, _ = parse_mailbox_list(", ".join(_raw_headers(msg, "reply-to")))

    walk = _Walk(limits, quarantine)
    walk.run(msg)
    if walk.plain is not None and walk.plain.strip():
        full_text = walk.plain
    elif walk.html is not None:
        full_text = html_to_text(walk.html[: limits.max_body_chars * 2])
    else:
        full_text = walk.plain or ""
    if len(full_text) > limits.max_body_chars:
        quarantine.set(QuarantineReason.BODY_TRUNCATED, f"body longer than {limits.max_body_chars} chars")
        full_text = full_text[: limits.max_body_chars]
    full_text = full_text.replace("\r\n", "\n").replace("\x00", "")
    stripped = strip_reply(full_text, subject=_header(msg, "Subject"))
    message_ids = _message_ids(_header(msg, "Message-ID"))
    in_reply_to = _message_ids(_header(msg, "In-Reply-To"))
    return ParsedEmail(
        message_id=message_ids[0] if message_ids else None,
        from_=sender,
        to=tuple(to),
        cc=tuple(cc),
        reply_to=tuple(reply_to),
        subject=_header(msg, "Subject")[:998],
        date=_date(_header(msg, "Date")),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_references(_header(msg, "References", limit=limits.max_header_bytes), limits.max_references),
        text=stripped.text,
        quoted_removed=stripped.quoted_removed,
        signature_removed=stripped.signature_removed,
        full_text=full_text,
        html_present=walk.html_present,
        attachments=tuple(walk.attachments),
        language=guess_language(stripped.text or full_text),
        auto_submitted=_auto_submitted(msg, sender),
        quarantine_reason=quarantine.reason,
        quarantine_detail=quarantine.detail,
        raw_sha256=digest,
        raw_size=len(raw),
    )


def parse_email(raw: bytes, *, limits: ParseLimits = _DEFAULT_LIMITS) -> ParsedEmail:
    """Parse raw RFC 5322 bytes. Raises only ``InboundParseError``; see the module docstring."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError(ParseFailure.MALFORMED, f"expected bytes, got {type(raw).__name__}")
    try:
        return _parse(bytes(raw), limits)
    except InboundParseError:
        raise
    except RecursionError:
        raise EmailParseError(ParseFailure.MIME_TOO_DEEP, "MIME structure nested too deeply") from None
    except Exception as exc:
        raise EmailParseError(
            ParseFailure.MALFORMED, f"unparseable message ({type(exc).__name__}); kept raw for a human"
        ) from exc


def _mailbox_json(box: Mailbox | None) -> dict[str, str | None] | None:
    return None if box is None else {"address": box.address, "name": box.display_name}


def parse_to_json(raw: bytes, *, limits: ParseLimits = _DEFAULT_LIMITS) -> dict[str, Any]:
    """The CLI view of a message: a JSON-ready dict with a fixed set of keys."""
    parsed = parse_email(raw, limits=limits)
    return {
        "message_id": parsed.message_id,
        "from": _mailbox_json(parsed.from_),
        "to": [_mailbox_json(m) for m in parsed.to],
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "language": parsed.language,
        "text": parsed.text,
        "quoted_removed": parsed.quoted_removed,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in parsed.attachments
        ],
    }
