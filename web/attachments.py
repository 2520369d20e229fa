"""Serving an attachment safely: the bytes come from the blob store, never from a path a client names.

- The type we answer with is one we recognise in the bytes themselves (PNG, JPEG, GIF, WebP, PDF) and
  that agrees with the declared type; everything else is ``application/octet-stream``.
- Only those types open inline; SVG, HTML and anything else is a download (``attachment``).
- ``filename*`` is RFC 5987 encoded, with an ASCII fallback ``filename``.
- ``nosniff``, a sandboxing CSP (``sandbox; default-src 'none'``), ``Cross-Origin-Resource-Policy:
  same-origin``, no referrer and no caching on every answer.
- Past ``attachment_max_bytes`` the answer is 413 with the limit and the setting's name.

Used by the agent inbox (:mod:`web.inbox`) and the chat widget's downloads (:mod:`web.chat`)."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import HTTPException
from fastapi.responses import Response

from conversation import Attachment, NotFound
from conversation.blobs import load_file
from conversation.ports import BlobStore

__all__ = [
    "INLINE_TYPES",
    "PREVIEW_TYPES",
    "ATTACHMENT_CSP",
    "previewable",
    "sniff",
    "served_type",
    "is_inline",
    "content_disposition",
    "attachment_response",
    "human_size",
]

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
ATTACHMENT_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
_GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 ._()\[\]+-]")


def sniff(content: bytes) -> str | None:
    """The safe type the bytes are, by their signature; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[:1024].lstrip(b"\r\n\t \x00\xef\xbb\xbf").startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _normal(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def served_type(declared: str, content: bytes) -> str:
    """The declared type when the bytes are that safe type (or the declaration is generic and the
    bytes are a safe type); otherwise ``application/octet-stream``."""
    found = sniff(content)
    if found is None:
        return "application/octet-stream"
    want = _normal(declared)
    return found if want in _GENERIC or want == found else "application/octet-stream"


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def previewable(attachment: Attachment) -> bool:
    """Whether the inbox may show an ``<img>`` preview (the served type decides again on the bytes)."""
    return _normal(attachment.content_type) in PREVIEW_TYPES


def content_disposition(filename: str, *, inline: bool) -> str:
    """``inline``/``attachment`` with an ASCII fallback name and the RFC 5987 ``filename*``."""
    name = "".join(ch for ch in filename if ch.isprintable()).strip() or "attachment"
    fallback = _UNSAFE_ASCII.sub("_", name)[:150] or "attachment"
    encoded = quote(name[:200], safe="")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


async def attachment_response(blobs: BlobStore, attachment: Attachment, *, max_bytes: int) -> Response:
    """The attachment as a safe HTTP answer (see the module docstring). 413 past ``max_bytes``;
    404 when its blob is gone (retention) or does not match its digest."""
    if attachment.size > max_bytes:
        raise HTTPException(
            status_code=413,
            detail=f"This attachment is {human_size(attachment.size)} ({attachment.size} bytes); attachments "
            f"open up to {max_bytes} bytes (GLASSDESK_ATTACHMENT_MAX_BYTES).",
        )
    try:
        file = await load_file(blobs, attachment)
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    if len(file.content) > max_bytes:
        raise HTTPException(status_code=413, detail=f"attachments open up to {max_bytes} bytes")
    media_type = served_type(attachment.content_type, file.content)
    headers = {
        "Content-Disposition": content_disposition(attachment.filename, inline=is_inline(media_type)),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": ATTACHMENT_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
    }
    return Response(file.content, media_type=media_type, headers=headers)
